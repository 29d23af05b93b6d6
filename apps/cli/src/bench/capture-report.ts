import type { CpuShares } from './cpu';
import { formatCount, formatMs, formatRate, formatRatio, median } from './stats';

/** The JSON report of `cdc bench capture` (also the input of both renderings below). */
export interface CapturePhaseStats {
  /** Keyspace notifications capture received (its own version-counter keys excluded). */
  readonly notifications: number;
  /** Notifications folded into a read already pending for the same key. */
  readonly coalesced: number;
  /** Change events acknowledged by Kafka. */
  readonly events: number;
  /** From the writer's stop to capture having taken every notification and drained (ms). */
  readonly drainMs: number;
  /** False when capture never received as many notifications as the writer made writes (lost notifications). */
  readonly fenced: boolean;
  /** Notification gaps capture itself detected, and keys its reconciliation re-captured. */
  readonly gaps: number;
  readonly reconciledKeys: number;
}

/**
 * off = notifications off, nothing listening; subscriber = on, a bare subscriber; capture = on, capture. With
 * `--read-from replica` the subscriber and capture are on the replica (notifications on there only), and
 * capture-primary is capture reading on the primary of the same topology (notifications on the primary only).
 */
export type WriterSetup = 'off' | 'subscriber' | 'capture' | 'capture-primary';

export interface WriterPhase {
  /** A<n> = setup off; N<n> = subscriber (the floor); B<n> = capture; P<n> = capture-primary. */
  readonly name: string;
  readonly setup: WriterSetup;
  readonly capture: boolean;
  readonly writes: number;
  readonly elapsedMs: number;
  readonly writesPerS: number;
  readonly latencyP50Ms?: number;
  readonly latencyP99Ms?: number;
  readonly captureStats?: CapturePhaseStats;
  /** N phases: bytes of notifications the bare subscriber received (lead-in included). */
  readonly subscriberBytes?: number;
  /** Cores used during the measured window, per process (bench = the writer's process) and for the box. */
  readonly cpu: CpuShares;
  /**
   * Redis CPU time per write (µs): what one write costs the server, capture's reads and pub/sub included. With a
   * replica, the PRIMARY's (where the application writes): what capture on the replica must not raise.
   */
  readonly redisUsPerWrite?: number;
  /** With a replica: the replica's CPU time per write (µs). */
  readonly replicaUsPerWrite?: number;
}

export interface WriterPair {
  readonly pair: number;
  readonly withoutPerS: number;
  readonly withPerS: number;
  readonly ratio: number;
  /** The N phase: the writer beside a bare subscriber that reads nothing, and its rate ÷ the A phase's. */
  readonly floorPerS?: number;
  readonly floorRatio?: number;
  /**
   * Redis µs per write without capture ÷ with: the share of its write capacity Redis would keep if it, rather
   * than the writer's CPU, were the bottleneck (derived from CPU time, not a throughput).
   */
  readonly redisCapacityRatio?: number;
  /** With a replica: the P phase (capture reading on the primary of the same topology), for the comparison. */
  readonly primaryMode?: {
    readonly withPerS: number;
    readonly ratio: number;
    readonly redisCapacityRatio?: number;
  };
}

export interface CeilingResult {
  readonly keys: number;
  /** The burst writer: first write to last reply. */
  readonly writeMs: number;
  readonly writesPerS: number;
  /** First write to the moment the topic's end offsets held every expected event. */
  readonly captureMs: number;
  readonly eventsPerS: number;
  readonly expectedEvents: number;
  /** Growth of the topic's end offsets during the burst. */
  readonly topicEvents: number;
  readonly complete: boolean;
  readonly notifications: number;
  readonly coalesced: number;
  readonly events: number;
  readonly gaps: number;
  readonly reconciledKeys: number;
  /** Cores used from the first write to the last expected event. */
  readonly cpu: CpuShares;
  /** Capture's CPU time per event during the burst (µs), when its process could be measured. */
  readonly captureCpuUsPerEvent?: number;
}

export interface LossResult {
  readonly keysChecked: number;
  readonly lost: number;
  readonly lostSample: ReadonlyArray<{ key: string; expected: string; last: string | null }>;
  readonly messagesConsumed: number;
  readonly burstKeysChecked: number;
  readonly burstKeysMissing: number;
  readonly burstMissingSample: readonly string[];
}

export interface CaptureBenchReport {
  readonly bench: 'capture';
  readonly schemaVersion: 1;
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly redis: string;
    readonly kafka: string;
  };
  readonly settings: {
    readonly durationS: number;
    readonly warmupS: number;
    readonly leadInS: number;
    readonly clients: number;
    readonly keys: number;
    readonly valueBytes: number;
    /** Writes/s offered by the paced writer (absent: closed loop). */
    readonly rate?: number;
    /** The primary ran alone on CPU 0, everything else on the other CPUs (`--pin-primary`). */
    readonly pinPrimary?: boolean;
    readonly pairs: number;
    readonly burstKeys: number;
    readonly captureMode: 'child-process' | 'in-process';
    /** The capture build that ran (child-process mode) and when it was built. */
    readonly captureMain?: string;
    readonly captureBuiltAt?: string;
    readonly captureBatchSize: number;
    /** Whether each pair also ran an N phase (bare subscriber). */
    readonly floorPhases?: boolean;
    /** notify-keyspace-events while capture runs. */
    readonly notifyFlags: string;
    readonly topic: string;
    readonly partitions: number;
    /** Where capture read in the B phases and the ceiling (the P phases read on the primary). */
    readonly readFrom?: 'primary' | 'replica';
  };
  readonly stack: { readonly stateDir: string; readonly reused: boolean };
  readonly writer: {
    readonly phases: readonly WriterPhase[];
    readonly pairs: readonly WriterPair[];
    readonly medianRatio: number;
    readonly medianRedisCapacityRatio?: number;
    /** Median of the N ÷ A ratios: what a consumer of the notifications that does nothing else leaves. */
    readonly medianFloorRatio?: number;
    /** With a replica: the P phases' median writer ratio and primary capacity kept. */
    readonly medianPrimaryModeRatio?: number;
    readonly medianPrimaryModeCapacityRatio?: number;
    readonly target: number;
    readonly pass: boolean;
    /** With a replica: the primary's capacity kept (A ÷ B CPU per write) must reach this. */
    readonly capacityTarget?: number;
    readonly capacityPass?: boolean;
  };
  readonly ceiling: CeilingResult;
  readonly loss: LossResult;
  readonly reportFile: string;
  readonly notes: readonly string[];
}

const capacity = (a: WriterPhase, b: WriterPhase): number | undefined =>
  a.redisUsPerWrite && b.redisUsPerWrite ? a.redisUsPerWrite / b.redisUsPerWrite : undefined;

/**
 * A pair's figures from its A (off), B (capture) and, when run, N (bare subscriber) and P (capture on the primary
 * of a replica topology) phases.
 */
export function writerPair(
  pair: number,
  a: WriterPhase,
  b: WriterPhase,
  n?: WriterPhase,
  p?: WriterPhase,
): WriterPair {
  const pCapacity = p ? capacity(a, p) : undefined;
  return {
    pair,
    withoutPerS: a.writesPerS,
    withPerS: b.writesPerS,
    ratio: b.writesPerS / a.writesPerS,
    ...(n ? { floorPerS: n.writesPerS, floorRatio: n.writesPerS / a.writesPerS } : {}),
    ...(capacity(a, b) !== undefined ? { redisCapacityRatio: capacity(a, b) } : {}),
    ...(p
      ? {
          primaryMode: {
            withPerS: p.writesPerS,
            ratio: p.writesPerS / a.writesPerS,
            ...(pCapacity !== undefined ? { redisCapacityRatio: pCapacity } : {}),
          },
        }
      : {}),
  };
}

/** Medians over the pairs; a figure only some pairs have is left out rather than taken from a subset. */
export function writerFigures(pairs: readonly WriterPair[]): {
  medianRatio: number;
  medianRedisCapacityRatio?: number;
  medianFloorRatio?: number;
  medianPrimaryModeRatio?: number;
  medianPrimaryModeCapacityRatio?: number;
} {
  const all = (f: (p: WriterPair) => number | undefined): number | undefined => {
    const v = pairs.flatMap((p) => {
      const x = f(p);
      return x === undefined ? [] : [x];
    });
    return v.length > 0 && v.length === pairs.length ? median(v) : undefined;
  };
  const medianRedisCapacityRatio = all((p) => p.redisCapacityRatio);
  const medianFloorRatio = all((p) => p.floorRatio);
  const medianPrimaryModeRatio = all((p) => p.primaryMode?.ratio);
  const medianPrimaryModeCapacityRatio = all((p) => p.primaryMode?.redisCapacityRatio);
  return {
    medianRatio: median(pairs.map((p) => p.ratio)),
    ...(medianRedisCapacityRatio !== undefined ? { medianRedisCapacityRatio } : {}),
    ...(medianFloorRatio !== undefined ? { medianFloorRatio } : {}),
    ...(medianPrimaryModeRatio !== undefined ? { medianPrimaryModeRatio } : {}),
    ...(medianPrimaryModeCapacityRatio !== undefined ? { medianPrimaryModeCapacityRatio } : {}),
  };
}

const CAPTURE_MODE_TEXT = {
  'child-process': 'capture in a separate child process (`node dist/apps/capture/main.js`, the deployable)',
  'in-process': 'capture in the benchmark process (shares the writer’s event loop)',
} as const;

const verdict = (ok: boolean): string => (ok ? 'pass' : 'FAIL');

const CPU_ORDER = [
  'box',
  'bench',
  'redis',
  'redis-replica',
  'subscriber',
  'capture',
  'kafka',
  'dynamodb',
  'other',
];

/** `box 1.97 | bench 0.93, redis 0.41, capture 0.38, kafka 0.22` (cores; processes not measured are left out). */
export function formatCpu(cpu: CpuShares): string {
  const rank = (n: string) => (CPU_ORDER.includes(n) ? CPU_ORDER.indexOf(n) : CPU_ORDER.length);
  const names = Object.keys(cpu).sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const part = (n: string) => `${n} ${(cpu[n] as number).toFixed(2)}`;
  const procs = names
    .filter((n) => n !== 'box')
    .map(part)
    .join(', ');
  if (cpu.box === undefined) return procs;
  return procs ? `${part('box')} | ${procs}` : part('box');
}

/** The docs section a run replaces: primary-mode and replica-mode runs each keep their own. */
export const captureSectionTitle = (readFrom: 'primary' | 'replica' = 'primary'): string =>
  readFrom === 'replica' ? 'Capture from a replica' : 'Capture';

const onReplica = (r: CaptureBenchReport): boolean => r.settings.readFrom === 'replica';

/** The replica figures of a pair: the P phase beside B, and the primary's CPU per write in A, B and P. */
function replicaPairText(r: CaptureBenchReport, p: WriterPair): string {
  if (!p.primaryMode) return '';
  const [a, b, pp] = [`A${p.pair}`, `B${p.pair}`, `P${p.pair}`].map((n) =>
    r.writer.phases.find((x) => x.name === n),
  );
  return (
    `; capture on the primary ${formatRate(p.primaryMode.withPerS)} = ${formatRatio(p.primaryMode.ratio)}` +
    `; primary CPU per write A ${formatUs(a?.redisUsPerWrite)}, B ${formatUs(b?.redisUsPerWrite)}, ` +
    `P ${formatUs(pp?.redisUsPerWrite)}`
  );
}

/** The headline of a replica run: the primary's capacity kept with capture on the replica, and on the primary. */
function replicaVerdict(r: CaptureBenchReport): string {
  const w = r.writer;
  if (w.capacityTarget === undefined) return '';
  return (
    `Primary capacity kept with capture on the replica (primary CPU per write A ÷ B), median ` +
    `${w.medianRedisCapacityRatio !== undefined ? formatRatio(w.medianRedisCapacityRatio) : 'n/a'} ` +
    `(target ≥ ${w.capacityTarget.toFixed(2)}×): ${verdict(w.capacityPass === true)}; with capture on the ` +
    `primary (A ÷ P): ${w.medianPrimaryModeCapacityRatio !== undefined ? formatRatio(w.medianPrimaryModeCapacityRatio) : 'n/a'}` +
    `. Writer ratio B ÷ A ${formatRatio(w.medianRatio)}, P ÷ A ` +
    `${w.medianPrimaryModeRatio !== undefined ? formatRatio(w.medianPrimaryModeRatio) : 'n/a'}.`
  );
}

/** The human summary printed on stdout. */
export function renderCaptureSummary(r: CaptureBenchReport): string {
  const s = r.settings;
  const lines = [
    `cdc bench capture${onReplica(r) ? ' --read-from replica' : ''}: ${s.pairs} × (A: notifications off | ` +
      (s.floorPhases ? 'N: notifications on, a bare subscriber that reads nothing | ' : '') +
      `B: notifications "${s.notifyFlags}", capture running` +
      (onReplica(r) ? ' (both on the replica) | P: capture on the primary, notifications there' : '') +
      '), ' +
      `${s.durationS} s each, ${s.clients} clients, ${formatCount(s.keys)} keys; ${CAPTURE_MODE_TEXT[s.captureMode]}`,
    '',
    'Writer (awaited SET per client, no pipelining):',
  ];
  for (const p of r.writer.phases) {
    const c = p.captureStats;
    lines.push(
      `  ${p.name.padEnd(3)} ${p.setup.padEnd(15)}  ${formatRate(p.writesPerS).padStart(9)}` +
        `  p50 ${formatMs(p.latencyP50Ms)}  p99 ${formatMs(p.latencyP99Ms)}` +
        (c
          ? `  | ${formatCount(c.notifications)} notifications, ${formatCount(c.coalesced)} coalesced, ` +
            `${formatCount(c.events)} events, ${c.gaps} gaps, drained in ${formatCount(c.drainMs)} ms` +
            (c.fenced ? '' : ' (NOTIFICATIONS MISSING)')
          : ''),
    );
  }
  lines.push('  CPU in cores (bench = the writer’s process):');
  for (const p of r.writer.phases) lines.push(`  ${p.name.padEnd(3)} ${formatCpu(p.cpu)}`);
  for (const p of r.writer.pairs) {
    const [a, b] = pairPhases(r, p.pair);
    lines.push(
      `  pair ${p.pair}: ${formatRate(p.withPerS)} / ${formatRate(p.withoutPerS)} = ${formatRatio(p.ratio)}` +
        (p.floorRatio !== undefined && p.floorPerS !== undefined
          ? `; bare subscriber ${formatRate(p.floorPerS)} = ${formatRatio(p.floorRatio)}`
          : '') +
        (p.redisCapacityRatio !== undefined
          ? `; Redis CPU per write ${formatUs(a?.redisUsPerWrite)} -> ${formatUs(b?.redisUsPerWrite)}, ` +
            `capacity kept ${formatRatio(p.redisCapacityRatio)}`
          : '') +
        replicaPairText(r, p),
    );
  }
  if (onReplica(r)) lines.push(`  ${replicaVerdict(r)}`);
  lines.push(
    `  median ratio ${formatRatio(r.writer.medianRatio)} (target ≥ ${r.writer.target.toFixed(2)}×): ${verdict(r.writer.pass)}` +
      (r.writer.medianRedisCapacityRatio !== undefined
        ? `; Redis capacity kept (from CPU time) ${formatRatio(r.writer.medianRedisCapacityRatio)}`
        : '') +
      (r.writer.medianFloorRatio !== undefined
        ? `; floor (bare subscriber) ${formatRatio(r.writer.medianFloorRatio)}`
        : ''),
    '',
    `Capture ceiling: ${formatCount(r.ceiling.keys)} keys touched once by a pipelined burst ` +
      `(writer ${formatRate(r.ceiling.writesPerS)}, ${formatCount(r.ceiling.writeMs)} ms)`,
    `  ${formatCount(r.ceiling.topicEvents)} of ${formatCount(r.ceiling.expectedEvents)} events in the topic after ` +
      `${formatCount(r.ceiling.captureMs)} ms: ${formatRate(r.ceiling.eventsPerS)}${r.ceiling.complete ? '' : ' (INCOMPLETE)'}`,
    `  ${formatCount(r.ceiling.notifications)} notifications, ${formatCount(r.ceiling.coalesced)} coalesced, ` +
      `${formatCount(r.ceiling.events)} events, ${r.ceiling.gaps} gaps`,
    `  CPU in cores: ${formatCpu(r.ceiling.cpu)}` +
      (r.ceiling.captureCpuUsPerEvent !== undefined
        ? `; capture ${r.ceiling.captureCpuUsPerEvent} µs of CPU per event`
        : ''),
    '',
    `Zero loss: ${formatCount(r.loss.lost)} lost of ${formatCount(r.loss.keysChecked)} keys checked ` +
      `(last event = last value written); burst: ${formatCount(r.loss.burstKeysMissing)} of ` +
      `${formatCount(r.loss.burstKeysChecked)} keys missing; ${formatCount(r.loss.messagesConsumed)} messages read: ` +
      verdict(r.loss.lost === 0 && r.loss.burstKeysMissing === 0),
  );
  for (const l of r.loss.lostSample)
    lines.push(
      `  lost: ${l.key} expected "${l.expected}", last event ${l.last === null ? 'none' : `"${l.last}"`}`,
    );
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push('', `Report: ${r.reportFile}`);
  return `${lines.join('\n')}\n`;
}

/** The "## Capture" section of docs/benchmarks.md, regenerated by every run (already Prettier-formatted). */
export function renderCaptureSection(r: CaptureBenchReport): string {
  const s = r.settings;
  const h = r.host;
  const c = r.ceiling;
  const date = r.startedAt.slice(0, 10);
  const dash = '–';
  const phaseRows = r.writer.phases.map((p) => {
    const cs = p.captureStats;
    return [
      p.name,
      p.setup,
      formatRate(p.writesPerS),
      formatMs(p.latencyP50Ms),
      formatMs(p.latencyP99Ms),
      cs ? formatCount(cs.notifications) : dash,
      cs ? formatCount(cs.coalesced) : dash,
      cs ? formatCount(cs.events) : dash,
      cs ? String(cs.gaps) : dash,
      cs ? `${formatCount(cs.drainMs)} ms${cs.fenced ? '' : ' (notifications missing)'}` : dash,
    ];
  });
  const floor = r.writer.pairs.some((p) => p.floorRatio !== undefined);
  const replica = onReplica(r);
  const pairRows = r.writer.pairs.map((p) => {
    const [a, b] = pairPhases(r, p.pair);
    return [
      String(p.pair),
      formatRate(p.withoutPerS),
      ...(floor ? [p.floorPerS !== undefined ? formatRate(p.floorPerS) : dash] : []),
      formatRate(p.withPerS),
      ...(floor ? [p.floorRatio !== undefined ? formatRatio(p.floorRatio) : dash] : []),
      formatRatio(p.ratio),
      `${formatUs(a?.redisUsPerWrite)} → ${formatUs(b?.redisUsPerWrite)}`,
      p.redisCapacityRatio !== undefined ? formatRatio(p.redisCapacityRatio) : 'n/a',
      ...(replica
        ? [
            p.primaryMode ? formatRatio(p.primaryMode.ratio) : dash,
            p.primaryMode?.redisCapacityRatio !== undefined
              ? formatRatio(p.primaryMode.redisCapacityRatio)
              : dash,
          ]
        : []),
    ];
  });
  const cpuWindows: Array<[string, CpuShares]> = [
    ...r.writer.phases.map((p): [string, CpuShares] => [p.name, p.cpu]),
    ['burst', c.cpu],
  ];
  const cpuNames = CPU_ORDER.filter((n) => cpuWindows.some(([, cpu]) => cpu[n] !== undefined));
  const cpuRows = cpuWindows.map(([name, cpu]) => [name, ...cpuNames.map((n) => cpu[n]?.toFixed(2) ?? dash)]);

  const out: string[] = [
    `## ${captureSectionTitle(s.readFrom)}`,
    '',
    ...(onReplica(r)
      ? [
          ...wrap(
            'Capture reading on a replica (`REDIS_READ_FROM=replica`): the bench stack is a primary with one ' +
              'replica; B phases run capture and its notifications on the replica only, P phases run capture ' +
              'on the primary of the same topology (notifications there only), and A phases have notifications ' +
              'off everywhere. "Redis" below is the primary, where the application writes.',
          ),
          '',
          ...wrap(`**${replicaVerdict(r)}**`),
          '',
        ]
      : []),
    ...wrap(
      `Run: \`${r.command}\` on ${date} (started ${r.startedAt}); ${h.cpus} cores (${h.cpuModel}), Node ` +
        `${h.node}, Redis ${h.redis}, Kafka ${h.kafka}, all on loopback. ` +
        `${capitalise(CAPTURE_MODE_TEXT[s.captureMode])}${s.captureBuiltAt ? ` built ${s.captureBuiltAt}` : ''}; ` +
        `topic with ${s.partitions} partitions, capture batch ${s.captureBatchSize}. Regenerated by every run; ` +
        `the JSON report (\`${r.reportFile}\`) has every figure.`,
    ),
    '',
    ...wrap(
      `**Writer throughput.** ${s.clients} clients, each awaiting its own \`SET\` of a ${s.valueBytes}-byte ` +
        `value over ${formatCount(s.keys)} keys (ioredis, auto-pipelining off)` +
        (s.rate
          ? `, paced at ${formatRate(s.rate)} writes in total (\`--rate\`: every phase offers the same load, so ` +
            'Redis CPU per write compares at equal batching; a phase below it is saturated)'
          : '') +
        (s.pinPrimary
          ? '; the primary pinned alone to CPU 0 and every other process (replica, Kafka, DynamoDB Local, ' +
            'capture, the writer) to the other CPUs (`--pin-primary`), so its CPU per write is its own work'
          : '') +
        '. Phases alternate A ' +
        '(notify-keyspace-events "" and nothing listening), ' +
        (s.floorPhases
          ? `N (notify-keyspace-events "${s.notifyFlags}" and a bare subscriber: a raw socket that sends ` +
            'PSUBSCRIBE on capture’s channels and only counts the bytes pushed, no parsing, no reads, no Kafka; ' +
            'the floor of any capture driven by notifications) '
          : '') +
        `and B (notify-keyspace-events "${s.notifyFlags}" and a ` +
        'freshly started capture), so drift on the shared box hits every side: each phase is a ' +
        `${s.leadInS} s unmeasured lead-in, then ${s.durationS} s measured; before the first pair, a ` +
        `${s.warmupS} s warm-up with capture on. A B phase ends when capture has received one notification per ` +
        'write and produced every event (drain); its capture figures cover the measured window.',
    ),
    '',
    ...mdTable(
      ['phase', 'setup', 'writes/s', 'p50', 'p99', 'notifications', 'coalesced', 'events', 'gaps', 'drain'],
      ['l', 'l', 'r', 'r', 'r', 'r', 'r', 'r', 'r', 'r'],
      phaseRows,
    ),
    '',
    ...mdTable(
      [
        'pair',
        'off (A)',
        ...(floor ? ['bare subscriber (N)'] : []),
        'capture (B)',
        ...(floor ? ['floor N ÷ A'] : []),
        'ratio B ÷ A',
        replica ? 'primary CPU per write (A → B)' : 'Redis CPU per write (A → B)',
        replica ? 'primary capacity kept (B)' : 'Redis capacity kept',
        ...(replica ? ['capture on the primary: P ÷ A', 'primary capacity kept (P)'] : []),
      ],
      [
        'l',
        'r',
        ...(floor ? ['r' as const, 'r' as const] : []),
        'r',
        'r',
        'r',
        'r',
        ...(replica ? ['r' as const, 'r' as const] : []),
      ],
      pairRows,
    ),
    '',
    ...wrap(
      `Median ratio: **${formatRatio(r.writer.medianRatio)}** (target ≥ ${r.writer.target.toFixed(2)}×: ` +
        `${verdict(r.writer.pass)}).` +
        (r.writer.medianRedisCapacityRatio !== undefined
          ? ` Redis capacity kept, median: ${formatRatio(r.writer.medianRedisCapacityRatio)}: Redis CPU per ` +
            'write without capture ÷ with it (capture’s reads and pub/sub included), the ratio the writer would ' +
            'see if Redis rather than the CPU left to the writer were the bottleneck; derived from CPU time, not ' +
            'a throughput.'
          : '') +
        (r.writer.medianFloorRatio !== undefined
          ? ` Floor, median N ÷ A: **${formatRatio(r.writer.medianFloorRatio)}**: what the writer keeps beside a ` +
            'consumer of the notifications that does nothing else.'
          : ''),
    ),
    '',
    ...wrap(
      `**Capture ceiling.** ${formatCount(c.keys)} keys pre-loaded with notifications off; then, with capture ` +
        'running and idle, a pipelined MSET burst touched every key once ' +
        `(${formatRate(c.writesPerS)}, ${formatCount(c.writeMs)} ms). The topic's end offsets held ` +
        `${formatCount(c.topicEvents)} of ${formatCount(c.expectedEvents)} expected events ` +
        `${formatCount(c.captureMs)} ms after the first write: **${formatRate(c.eventsPerS)}**` +
        `${c.complete ? '' : ' (incomplete)'}. Capture counted ${formatCount(c.notifications)} notifications, ` +
        `${formatCount(c.coalesced)} coalesced, ${formatCount(c.events)} events, ${c.gaps} gaps` +
        (c.captureCpuUsPerEvent !== undefined
          ? `; it used ${c.captureCpuUsPerEvent} µs of CPU per event.`
          : '.'),
    ),
    '',
    ...wrap(
      `**Zero loss.** Every key the writer touches is owned by one client and carries that client's sequence ` +
        'number (`<client>:<n>`), so the final value of every key written while capture ran (warm-up and B ' +
        'phases, lead-ins included) is known. After the run the topic was read from the beginning ' +
        `(${formatCount(r.loss.messagesConsumed)} messages): **${formatCount(r.loss.lost)} lost of ` +
        `${formatCount(r.loss.keysChecked)} keys checked** (lost = the key's last event is not the last value ` +
        `written); burst keys missing from the topic: ${formatCount(r.loss.burstKeysMissing)} of ` +
        `${formatCount(r.loss.burstKeysChecked)}.`,
    ),
    '',
    'CPU in cores per measured window (bench = the writer’s process; box = the whole machine; other = the rest):',
    '',
    ...mdTable(['window', ...cpuNames], ['l', ...cpuNames.map((): 'r' => 'r')], cpuRows),
  ];
  for (const n of r.notes) out.push('', ...wrap(n, 110, '- ', '  '));
  return `${out.join('\n')}\n`;
}

/**
 * Greedy word wrap at `width` columns, never inside an inline code span (a line break there would become a
 * space in the rendered text).
 */
export function wrap(text: string, width = 110, first = '', rest = ''): string[] {
  const words: string[] = [];
  for (const piece of text.split(' ')) {
    const prev = words[words.length - 1];
    const open = prev !== undefined && (prev.match(/`/g)?.length ?? 0) % 2 === 1;
    if (open) words[words.length - 1] = `${prev} ${piece}`;
    else words.push(piece);
  }
  const lines: string[] = [];
  let line = first;
  let empty = true;
  for (const w of words) {
    if (!empty && line.length + 1 + w.length > width) {
      lines.push(line);
      line = rest + w;
    } else {
      line = empty ? line + w : `${line} ${w}`;
    }
    empty = false;
  }
  lines.push(line);
  return lines;
}

/** A Markdown table laid out the way Prettier lays it out (columns padded, alignment colons). */
export function mdTable(
  header: readonly string[],
  align: ReadonlyArray<'l' | 'r'>,
  rows: ReadonlyArray<readonly string[]>,
): string[] {
  const width = (s: string) => [...s].length;
  const widths = header.map((h, i) => Math.max(3, width(h), ...rows.map((r) => width(r[i] ?? ''))));
  const cell = (s: string, i: number) => {
    const pad = ' '.repeat((widths[i] as number) - width(s));
    return align[i] === 'r' ? pad + s : s + pad;
  };
  const line = (cells: readonly string[]) =>
    `| ${header.map((_, i) => cell(cells[i] ?? '', i)).join(' | ')} |`;
  const rule = `| ${widths.map((w, i) => (align[i] === 'r' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(' | ')} |`;
  return [line(header), rule, ...rows.map(line)];
}

/** The A and B phases of a pair (named A<n> and B<n>). */
function pairPhases(r: CaptureBenchReport, pair: number): [WriterPhase | undefined, WriterPhase | undefined] {
  return [
    r.writer.phases.find((p) => p.name === `A${pair}`),
    r.writer.phases.find((p) => p.name === `B${pair}`),
  ];
}

const formatUs = (us: number | undefined): string => (us === undefined ? 'n/a' : `${us.toFixed(1)} µs`);

function capitalise(s: string): string {
  return s.charAt(0).toUpperCase() + s.slice(1);
}

/**
 * Replaces the `## <title>` section of a Markdown document (up to the next `## ` heading) with `section`, or
 * inserts it before the first other `## ` heading (at the end when there is none). Other sections are kept.
 */
export function upsertSection(doc: string, title: string, section: string): string {
  const lines = doc.split('\n');
  const heading = `## ${title}`;
  const start = lines.findIndex((l) => l.trimEnd() === heading);
  const body = section.endsWith('\n') ? section.slice(0, -1).split('\n') : section.split('\n');
  if (start === -1) {
    const next = lines.findIndex((l) => l.startsWith('## '));
    if (next === -1) {
      const trimmed = doc.replace(/\n*$/, '');
      return `${trimmed}\n\n${body.join('\n')}\n`;
    }
    return [...lines.slice(0, next), ...body, '', ...lines.slice(next)].join('\n');
  }
  const endRel = lines.slice(start + 1).findIndex((l) => l.startsWith('## '));
  const end = endRel === -1 ? lines.length : start + 1 + endRel;
  const after = lines.slice(end);
  const joined = [...lines.slice(0, start), ...body, ...(after.length > 0 ? ['', ...after] : [])].join('\n');
  return joined.endsWith('\n') ? joined : `${joined}\n`;
}
