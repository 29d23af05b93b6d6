import type { DrainRate, FinalStateCheck, LagFigures, Outcomes, Quantiles } from './applier-figures';
import { formatCpu, mdTable, wrap } from './capture-report';
import type { CpuShares } from './cpu';
import { formatCount, formatMs, formatRate, formatRatio } from './stats';

/** The JSON report of `cdc bench applier` (also the input of both renderings below). */
export interface RawPhase {
  /** R<n>: unconditional PutItem from the benchmark process. */
  readonly name: string;
  /** Unmeasured puts before the measured ones (connection pool, JIT). */
  readonly leadIn: number;
  readonly items: number;
  readonly elapsedMs: number;
  readonly itemsPerS: number;
  readonly latencyP50Ms?: number;
  readonly latencyP99Ms?: number;
  readonly cpu: CpuShares;
}

export interface DrainPhase {
  /** A<n>: unique keys; Z: the zipfian mix. */
  readonly name: string;
  /** Events on the topic before the applier started. */
  readonly events: number;
  /** The group committed every event (consumer lag 0) before the stall timeout. */
  readonly complete: boolean;
  readonly drain: DrainRate;
  /** Applier started (ready) → its first commit: group join and the first batch, outside the rate. */
  readonly firstCommitMs?: number;
  readonly outcomes: Outcomes;
  /** Cores used from the first commit to the last. */
  readonly cpu: CpuShares;
  /** The applier process' CPU per event committed in the window (µs). */
  readonly applierCpuUsPerEvent?: number;
}

export interface ApplierPair {
  readonly pair: number;
  readonly rawPerS: number;
  readonly applierPerS: number;
  readonly ratio: number;
}

export interface ZipfResult {
  readonly keys: number;
  readonly s: number;
  readonly distinctKeys: number;
  readonly phase: DrainPhase;
  readonly writes: number;
  readonly writesPerEvent: number;
  /** Source events/s ÷ the median raw PutItem/s. */
  readonly ceilingRatio: number;
  readonly check: FinalStateCheck;
}

export interface LagResult {
  /** Half the measured applier ceiling (events/s). */
  readonly targetPerS: number;
  readonly offeredPerS: number;
  readonly leadInS: number;
  readonly durationS: number;
  readonly writes: number;
  /** Items of measured writes found in the table after the drain. */
  readonly items: number;
  readonly missing: number;
  readonly lag: LagFigures;
  /** From the last write until capture and the applier had everything (ms). */
  readonly drainMs: number;
  readonly captureEvents: number;
  readonly outcomes: Outcomes;
  readonly writesPerEvent: number;
  readonly cpu: CpuShares;
}

export const APPLIER_TARGETS = {
  ratio: 0.8,
  writesPerEvent: 0.5,
  /** A goal, not a gate: beating the single-item ceiling in source events/s. */
  zipfCeilingRatio: 1,
  lagP50Ms: 15,
  lagP99Ms: 100,
} as const;

export interface ApplierBenchReport {
  readonly bench: 'applier';
  readonly schemaVersion: 1;
  readonly command: string;
  readonly startedAt: string;
  readonly finishedAt: string;
  readonly host: {
    readonly cpus: number;
    readonly cpuModel: string;
    readonly node: string;
    readonly kafka: string;
  };
  readonly settings: {
    readonly events: number;
    readonly warmup: number;
    readonly leadIn: number;
    readonly concurrency: number;
    readonly pairs: number;
    readonly zipfKeys: number;
    readonly zipfS: number;
    readonly durationS: number;
    readonly valueBytes: number;
    readonly partitions: number;
    readonly applierMain: string;
    readonly applierBuiltAt: string;
    readonly captureMain: string;
  };
  readonly stack: { readonly stateDir: string; readonly reused: boolean; readonly kept: boolean };
  readonly raw: readonly RawPhase[];
  readonly applier: readonly DrainPhase[];
  readonly pairs: readonly ApplierPair[];
  readonly medianRatio: number;
  readonly rawCeilingPerS: number;
  readonly applierCeilingPerS: number;
  readonly zipf: ZipfResult;
  readonly lag: LagResult;
  readonly targets: typeof APPLIER_TARGETS;
  readonly verdicts: ApplierVerdicts;
  readonly reportFile: string;
  readonly notes: readonly string[];
}

export interface ApplierVerdicts {
  readonly ratio: boolean;
  readonly writesPerEvent: boolean;
  readonly zipfCeiling: boolean;
  readonly finalState: boolean;
  readonly lagP50: boolean;
  readonly lagP99: boolean;
  /** Nothing lost: every drain completed, the zipf table is exact, every lag write arrived. */
  readonly complete: boolean;
}

/** Pass/fail against the targets. Pure. */
export function applierVerdicts(
  r: Pick<ApplierBenchReport, 'medianRatio' | 'zipf' | 'lag' | 'applier'>,
): ApplierVerdicts {
  const t = APPLIER_TARGETS;
  const finalState = r.zipf.check.wrong === 0 && r.zipf.check.extra === 0;
  return {
    ratio: r.medianRatio >= t.ratio,
    writesPerEvent: r.zipf.writesPerEvent <= t.writesPerEvent,
    zipfCeiling: r.zipf.ceilingRatio > t.zipfCeilingRatio,
    finalState,
    lagP50: (r.lag.lag.endToEnd.p50Ms ?? Infinity) <= t.lagP50Ms,
    lagP99: (r.lag.lag.endToEnd.p99Ms ?? Infinity) <= t.lagP99Ms,
    complete:
      r.applier.every((p) => p.complete) && r.zipf.phase.complete && finalState && r.lag.missing === 0,
  };
}

const CPU_COLUMNS = ['box', 'bench', 'applier', 'capture', 'dynamodb', 'kafka', 'redis', 'other'];

const verdict = (ok: boolean): string => (ok ? 'pass' : 'FAIL');
const goal = (ok: boolean): string => (ok ? 'reached' : 'not reached');
const q = (x: Quantiles): string =>
  `p50 ${formatMs(x.p50Ms)}, p99 ${formatMs(x.p99Ms)}, max ${formatMs(x.maxMs)}`;

function outcomesText(o: Outcomes): string {
  return `${formatCount(o.applied)} applied, ${formatCount(o.stale)} stale, ${formatCount(o.duplicate)} duplicate, ${formatCount(o.coalesced)} coalesced`;
}

/** The human summary printed on stdout. */
export function renderApplierSummary(r: ApplierBenchReport): string {
  const s = r.settings;
  const v = r.verdicts;
  const t = r.targets;
  const z = r.zipf;
  const lines = [
    `cdc bench applier: ${s.pairs} × (raw PutItem | applier), ${formatCount(s.events)} events each, ` +
      `concurrency ${s.concurrency}; zipf s=${s.zipfS} over ${formatCount(s.zipfKeys)} keys; lag at half the ceiling for ${s.durationS} s`,
    '',
    'Throughput (unique keys):',
  ];
  for (const p of r.raw)
    lines.push(
      `  ${p.name.padEnd(3)} raw PutItem  ${formatRate(p.itemsPerS).padStart(9)}  p50 ${formatMs(p.latencyP50Ms)}  p99 ${formatMs(p.latencyP99Ms)}  | ${formatCpu(p.cpu)}`,
    );
  for (const p of r.applier)
    lines.push(
      `  ${p.name.padEnd(3)} applier      ${formatRate(p.drain.eventsPerS).padStart(9)}  ${formatCount(p.drain.windowEvents)} events in ` +
        `${formatCount(p.drain.windowMs)} ms over ${p.drain.commits} commits${p.complete ? '' : ' (INCOMPLETE)'}  | ${formatCpu(p.cpu)}`,
    );
  for (const p of r.pairs)
    lines.push(
      `  pair ${p.pair}: ${formatRate(p.applierPerS)} / ${formatRate(p.rawPerS)} = ${formatRatio(p.ratio)}`,
    );
  lines.push(
    `  median ratio ${formatRatio(r.medianRatio)} (target ≥ ${t.ratio.toFixed(2)}×): ${verdict(v.ratio)}`,
    '',
    `Zipf (s=${z.s}, ${formatCount(z.keys)} keys, ${formatCount(z.distinctKeys)} touched): ${formatCount(z.phase.events)} events, ` +
      `${formatRate(z.phase.drain.eventsPerS)}${z.phase.complete ? '' : ' (INCOMPLETE)'}; ${outcomesText(z.phase.outcomes)}`,
    `  DynamoDB writes per source event ${z.writesPerEvent.toFixed(3)} (target ≤ ${t.writesPerEvent}): ${verdict(v.writesPerEvent)}`,
    `  source events/s ÷ raw PutItem/s ${formatRatio(z.ceilingRatio)} (goal > ${t.zipfCeilingRatio}×): ${goal(v.zipfCeiling)}`,
    `  final state: ${formatCount(z.check.itemsFound)} items for ${formatCount(z.check.keysExpected)} keys, ${z.check.wrong} wrong, ` +
      `${z.check.extra} extra: ${verdict(v.finalState)}`,
  );
  for (const w of z.check.sample)
    lines.push(`  wrong: ${w.pk} expected "${w.expected}", found ${w.found ?? 'nothing'}`);
  const l = r.lag;
  lines.push(
    '',
    `Lag at ${formatRate(l.offeredPerS)} (half the ceiling ${formatRate(r.applierCeilingPerS)}), ${l.durationS} s, ` +
      `${formatCount(l.writes)} writes, ${formatCount(l.missing)} missing:`,
    `  Redis write → item      ${q(l.lag.endToEnd)} (target p50 ≤ ${t.lagP50Ms} ms: ${verdict(v.lagP50)}, p99 ≤ ${t.lagP99Ms} ms: ${verdict(v.lagP99)})`,
    `  Redis write → captured  ${q(l.lag.capture)}`,
    `  captured → applied      ${q(l.lag.apply)}`,
    `  ${formatCount(l.captureEvents)} events, ${outcomesText(l.outcomes)}; writes per event ${l.writesPerEvent.toFixed(3)}; CPU ${formatCpu(l.cpu)}`,
  );
  for (const n of r.notes) lines.push(`note: ${n}`);
  lines.push('', `Report: ${r.reportFile}`);
  return `${lines.join('\n')}\n`;
}

/** The "## Applier" section of docs/benchmarks.md, regenerated by every run (already Prettier-formatted). */
export function renderApplierSection(r: ApplierBenchReport): string {
  const s = r.settings;
  const h = r.host;
  const v = r.verdicts;
  const t = r.targets;
  const z = r.zipf;
  const l = r.lag;
  const date = r.startedAt.slice(0, 10);
  const phaseRows = [
    ...r.raw.map((p) => [
      p.name,
      'raw PutItem',
      formatRate(p.itemsPerS),
      `${formatCount(p.items)} in ${formatCount(p.elapsedMs)} ms`,
    ]),
    ...r.applier.map((p) => [
      p.name,
      'applier',
      formatRate(p.drain.eventsPerS),
      `${formatCount(p.drain.windowEvents)} in ${formatCount(p.drain.windowMs)} ms, ${p.drain.commits} commits` +
        (p.complete ? '' : ' (incomplete)'),
    ]),
  ];
  const cpuWindows: Array<[string, CpuShares]> = [
    ...r.raw.map((p): [string, CpuShares] => [p.name, p.cpu]),
    ...r.applier.map((p): [string, CpuShares] => [p.name, p.cpu]),
    ['Z', z.phase.cpu],
    ['lag', l.cpu],
  ];
  const cpuNames = CPU_COLUMNS.filter((n) => cpuWindows.some(([, cpu]) => cpu[n] !== undefined));
  const cpuRows = cpuWindows.map(([name, cpu]) => [name, ...cpuNames.map((n) => cpu[n]?.toFixed(2) ?? '–')]);
  const pairRows = r.pairs.map((p) => [
    String(p.pair),
    formatRate(p.rawPerS),
    formatRate(p.applierPerS),
    formatRatio(p.ratio),
  ]);
  const lagRows: string[][] = [
    ['Redis write → item (`appliedAt`)', l.lag.endToEnd],
    ['Redis write → captured (`capturedAt`)', l.lag.capture],
    ['captured → applied', l.lag.apply],
  ].map(([name, x]) => {
    const qs = x as Quantiles;
    return [name as string, formatMs(qs.p50Ms), formatMs(qs.p99Ms), formatMs(qs.maxMs)];
  });
  const out: string[] = [
    '## Applier',
    '',
    ...wrap(
      `Run: \`${r.command}\` on ${date} (started ${r.startedAt}); ${h.cpus} cores (${h.cpuModel}), Node ${h.node}, ` +
        `Kafka ${h.kafka}, DynamoDB Local, all on loopback. The applier ran as the deployable ` +
        `(\`node ${s.applierMain}\`, built ${s.applierBuiltAt}) in its own process, concurrency ${s.concurrency}, ` +
        `on topics with ${s.partitions} partitions. Regenerated by every run; the JSON report ` +
        `(\`${r.reportFile}\`) has every figure.`,
    ),
    '',
    ...wrap(
      `**Applier vs raw PutItem.** Raw: unconditional \`PutItem\` of items shaped exactly like the applier's ` +
        `(\`eventToItem\`), from the same SDK client configuration (\`createDynamoClient\`) at the same concurrency, ` +
        `${formatCount(s.leadIn)} unmeasured puts then ${formatCount(s.events)} measured. Applier: ` +
        `${formatCount(s.events)} change events with unique keys produced onto a fresh topic, then a fresh applier ` +
        'drains them; the rate runs from its first commit to the last (consumer lag 0), so group join and the ' +
        `first batch are outside it. Raw and applier phases alternate, after a ${formatCount(s.warmup)}-put ` +
        'warm-up of DynamoDB Local, so drift on the shared box hits both sides. Every phase writes its own keys ' +
        'into one table of the run, created the way the applier creates it (stream on).',
    ),
    '',
    ...mdTable(['phase', 'writer', 'rate', 'measured'], ['l', 'l', 'r', 'r'], phaseRows),
    '',
    ...mdTable(['pair', 'raw PutItem/s', 'applier events/s', 'ratio'], ['l', 'r', 'r', 'r'], pairRows),
    '',
    `Median ratio: **${formatRatio(r.medianRatio)}** (target ≥ ${t.ratio.toFixed(2)}×: ${verdict(v.ratio)}).`,
    '',
    ...wrap(
      `**Zipfian key mix.** ${formatCount(z.phase.events)} events over ${formatCount(z.keys)} keys with zipf ` +
        `s=${z.s} (${formatCount(z.distinctKeys)} keys touched), versions increasing per key, produced before the ` +
        `applier started and drained at **${formatRate(z.phase.drain.eventsPerS)}**` +
        `${z.phase.complete ? '' : ' (incomplete)'}: ${outcomesText(z.phase.outcomes)}. DynamoDB writes per ` +
        `source event: **${z.writesPerEvent.toFixed(3)}** (target ≤ ${t.writesPerEvent}: ` +
        `${verdict(v.writesPerEvent)}); source events/s ÷ raw PutItem/s: **${formatRatio(z.ceilingRatio)}** ` +
        `(goal > ${t.zipfCeilingRatio}×: ${goal(v.zipfCeiling)}). A drained backlog comes in large batches, so ` +
        'this is the coalescing a catch-up gets; live traffic (below) has smaller batches. Final table: ' +
        `${formatCount(z.check.itemsFound)} items for ${formatCount(z.check.keysExpected)} keys, ` +
        `${z.check.wrong} not at their last version and value, ${z.check.extra} extra: ${verdict(v.finalState)}.`,
    ),
    '',
    ...wrap(
      `**End-to-end lag.** Capture and the applier running (both deployables), an open-loop writer \`SET\` a new ` +
        `key ${formatRate(l.offeredPerS)} (half the median applier rate, ${formatRate(r.applierCeilingPerS)}) ` +
        `for ${l.durationS} s after a ${l.leadInS} s lead-in; each value carries its write time. The applier ` +
        'writes to a fresh DynamoDB Local of its own, warmed like the first (the stack’s, after the phases above, ' +
        'holds all their items and stream records, and DynamoDB Local slows down as they accumulate). ' +
        `${formatCount(l.writes)} writes, ${formatCount(l.missing)} missing from the table after the drain. ` +
        '`appliedAt` is stamped when the applier issues the write, so the PutItem round trip itself is not in ' +
        'it.',
    ),
    '',
    ...mdTable(['lag', 'p50', 'p99', 'max'], ['l', 'r', 'r', 'r'], lagRows),
    '',
    ...wrap(
      `Target p50 ≤ ${t.lagP50Ms} ms: ${verdict(v.lagP50)}; p99 ≤ ${t.lagP99Ms} ms: ${verdict(v.lagP99)}. Live ` +
        `traffic: ${formatCount(l.captureEvents)} events, ${outcomesText(l.outcomes)}, ` +
        `${l.writesPerEvent.toFixed(3)} DynamoDB writes per event.`,
    ),
  ];
  out.push(
    '',
    ...wrap(
      'CPU in cores per measured window (bench = this benchmark’s process, the raw writer; box = the whole ' +
        'machine; other = the rest):',
    ),
    '',
    ...mdTable(['window', ...cpuNames], ['l', ...cpuNames.map((): 'r' => 'r')], cpuRows),
  );
  for (const n of r.notes) out.push('', ...wrap(n, 110, '- ', '  '));
  return `${out.join('\n')}\n`;
}
