import { type DlqStanding, dlqFix } from '@cdc/contracts';
import type { GapRecord, ScanSummary, StreamParitySnapshot } from '@cdc/redis';

/** An input that could not be read, and why (shown as the reason). */
export interface Unknown {
  readonly unknown: string;
}

export interface PartitionLag {
  readonly partition: number;
  /** Messages not yet applied: end offset - committed offset of the applier's group. */
  readonly lag: number;
}

/** What `cdc status` and the verifier's /status gather (StatusCollector) to judge cutover readiness. */
export interface ReadinessInputs {
  readonly now: number;
  /** Epoch ms of capture's last heartbeat tick; null when capture never ran for this source. */
  readonly aliveAt: number | null;
  readonly gaps: GapRecord | null;
  readonly consumerLag: readonly PartitionLag[] | Unknown;
  /** The DLQ's records by how they are explained (not carried by policy, accepted, redriven) or not. */
  readonly dlq: DlqStanding | Unknown;
  readonly streamParity: StreamParitySnapshot | null;
  readonly lastScan: ScanSummary | null;
}

export interface ReadinessOptions {
  /** Capture's heartbeat must be this recent. Default 10 s (heartbeats tick every second by default). */
  readonly aliveWithinMs: number;
  /** Unapplied messages allowed per partition. Default 1000 (CDC_READY_MAX_CONSUMER_LAG). */
  readonly maxConsumerLag: number;
  /** The verifier publishes every 2 s; an older snapshot means it stopped. Default 30 s. */
  readonly streamParityMaxAgeMs: number;
  /** Confirmed stream records needed in the window: parity over nothing proves nothing. Default 1. */
  readonly minStreamRecords: number;
  /** Capture-to-stream lag p99 over the window. Default 5 s (CDC_READY_MAX_LAG_P99_MS). */
  readonly maxLagP99Ms: number;
}

export const DEFAULT_READINESS: ReadinessOptions = {
  aliveWithinMs: 10_000,
  maxConsumerLag: 1_000,
  streamParityMaxAgeMs: 30_000,
  minStreamRecords: 1,
  maxLagP99Ms: 5_000,
};

export type CheckName = 'capture' | 'gaps' | 'consumer-lag' | 'dlq' | 'stream-parity' | 'scan' | 'lag-p99';

export interface Check {
  readonly name: CheckName;
  readonly ok: boolean;
  /** What was seen; when not ok, the problem and what to do. */
  readonly detail: string;
}

export interface Readiness {
  readonly verdict: 'READY' | 'NOT READY';
  readonly reasons: string[];
  readonly checks: Check[];
}

/** The cutover verdict: READY only when every check passes; each failing check is a reason. */
export function readiness(inputs: ReadinessInputs, options: Partial<ReadinessOptions> = {}): Readiness {
  const o = { ...DEFAULT_READINESS, ...options };
  const checks: Check[] = [
    { name: 'capture', ...captureCheck(inputs, o) },
    { name: 'gaps', ...gapsCheck(inputs) },
    { name: 'consumer-lag', ...lagCheck(inputs, o) },
    { name: 'dlq', ...dlqCheck(inputs) },
    { name: 'stream-parity', ...streamCheck(inputs, o) },
    { name: 'scan', ...scanCheck(inputs) },
    { name: 'lag-p99', ...p99Check(inputs, o) },
  ];
  const reasons = checks.filter((c) => !c.ok).map((c) => c.detail);
  return { verdict: reasons.length === 0 ? 'READY' : 'NOT READY', reasons, checks };
}

/** Since when capture has had no unhealed gap (null: it has one now, or never ran). */
export function gapFreeSince(gaps: GapRecord | null): number | null {
  if (!gaps) return null;
  if (gaps.lastGapAt === null) return gaps.since;
  return gaps.lastHealedAt !== null && gaps.lastHealedAt >= gaps.lastGapAt ? gaps.lastHealedAt : null;
}

type Outcome = { ok: boolean; detail: string };
const iso = (ms: number) => new Date(ms).toISOString();
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;
const pct = (x: number) => `${(Math.floor(x * 1000) / 10).toFixed(1)}%`;

function captureCheck({ now, aliveAt }: ReadinessInputs, o: ReadinessOptions): Outcome {
  if (aliveAt === null)
    return { ok: false, detail: 'capture has never run for this source (no alive marker): start capture' };
  const ago = now - aliveAt;
  return ago <= o.aliveWithinMs
    ? { ok: true, detail: `alive (last heartbeat ${secs(Math.max(0, ago))} ago)` }
    : {
        ok: false,
        detail: `capture silent for ${secs(ago)} (last heartbeat ${iso(aliveAt)}): is it running?`,
      };
}

function gapsCheck({ gaps }: ReadinessInputs): Outcome {
  if (!gaps) return { ok: false, detail: 'no gap record: capture has not started for this source' };
  const since = gapFreeSince(gaps);
  if (since !== null)
    return { ok: true, detail: `gap-free since ${iso(since)} (${gaps.gaps} gaps so far, all healed)` };
  return {
    ok: false,
    detail:
      `gap (${gaps.lastGapCause ?? 'unknown cause'}` +
      (gaps.lastGapSlots && gaps.lastGapSlots !== 'all' ? `, slots ${gaps.lastGapSlots}` : '') +
      `) at ${iso(gaps.lastGapAt ?? 0)} not healed yet: its reconciliation scan is running or was interrupted (restart capture to resume it)`,
  };
}

function lagCheck({ consumerLag }: ReadinessInputs, o: ReadinessOptions): Outcome {
  if ('unknown' in consumerLag) return { ok: false, detail: `consumer lag unknown: ${consumerLag.unknown}` };
  const total = consumerLag.reduce((sum, p) => sum + p.lag, 0);
  const behind = consumerLag.filter((p) => p.lag > o.maxConsumerLag);
  if (behind.length === 0)
    return { ok: true, detail: `${total} unapplied over ${consumerLag.length} partitions` };
  const list = behind.map((p) => `${p.partition} (${p.lag})`).join(', ');
  return {
    ok: false,
    detail: `consumer lag over ${o.maxConsumerLag} on partition ${list}: the applier is behind or stopped`,
  };
}

function dlqCheck({ dlq }: ReadinessInputs): Outcome {
  if ('unknown' in dlq) return { ok: false, detail: `DLQ unknown: ${dlq.unknown}` };
  const explained = [
    dlq.notCarried > 0 ? `${dlq.notCarried} not carried by policy` : '',
    dlq.accepted > 0 ? `${dlq.accepted} accepted` : '',
    dlq.redriven > 0 ? `${dlq.redriven} redriven` : '',
  ].filter(Boolean);
  const open = Object.entries(dlq.open).sort(([a], [b]) => a.localeCompare(b));
  if (open.length === 0)
    return {
      ok: true,
      detail:
        dlq.records === 0 ? 'no records' : `${dlq.records} records, all explained (${explained.join(', ')})`,
    };
  const total = open.reduce((sum, [, n]) => sum + n, 0);
  const codes = open.map(([code, n]) => `${n} ${code} (${dlqFix(code)})`).join(', ');
  return {
    ok: false,
    detail:
      `the DLQ holds ${total} unexplained records: ${codes}` +
      (explained.length > 0 ? `; besides ${explained.join(', ')}` : '') +
      `. Inspect them with cdc dlq list --open, then fix the cause as said, or accept them with cdc dlq accept ${total}`,
  };
}

function streamCheck({ now, streamParity: s }: ReadinessInputs, o: ReadinessOptions): Outcome {
  if (!s) return { ok: false, detail: 'no stream parity published: start the verifier' };
  if (now - s.at > o.streamParityMaxAgeMs)
    return { ok: false, detail: `stream parity is ${secs(now - s.at)} old: the verifier stopped publishing` };
  const total = Object.values(s.classes).reduce((a, b) => a + b, 0);
  // In flight: not decided yet; not carried: left out by policy (streams, oversized values), never a mismatch.
  const notCarried = s.classes['not-carried'] ?? 0;
  const confirmed = total - (s.classes['in-flight'] ?? 0) - notCarried;
  const match = s.classes.match ?? 0;
  const window = `over the last ${secs(s.windowMs)}`;
  const apart =
    (notCarried > 0 ? `; ${notCarried} not carried by policy, not counted` : '') +
    (s.rechecking ? `; ${s.rechecking} in flight now, rechecked until the pipeline passes them` : '');
  if (confirmed < o.minStreamRecords)
    return {
      ok: false,
      detail: `${confirmed} confirmed stream records ${window}${apart} (need ${o.minStreamRecords}): write to Redis (e.g. a canary key) so the verifier has something to check`,
    };
  if (match === confirmed)
    return { ok: true, detail: `100% of ${confirmed} confirmed records ${window}${apart}` };
  const stuck = s.classes.stuck ?? 0;
  const off = Object.entries(s.classes)
    .filter(([c, n]) => !['match', 'in-flight', 'not-carried', 'stuck'].includes(c) && n > 0)
    .map(([c, n]) => `${n} ${c}`)
    .join(', ');
  const what = [off, stuck > 0 ? `${stuck} stuck in flight` : ''].filter(Boolean).join(', ');
  const todo = [
    off ? 'run cdc verify --repair' : '',
    stuck > 0
      ? 'the verifier log names the stuck keys and the lag they wait on (CDC_VERIFIER_IN_FLIGHT_LIMIT_MS)'
      : '',
  ]
    .filter(Boolean)
    .join('; ');
  return {
    ok: false,
    detail: `stream parity ${pct(match / confirmed)} ${window}${apart} (${what}): ${todo}`,
  };
}

const MISMATCH_CLASSES = ['missing', 'extra', 'value', 'type', 'ttl', 'foreign'];

function scanCheck({ lastScan, gaps }: ReadinessInputs): Outcome {
  if (!lastScan) return { ok: false, detail: 'no complete scan yet: run cdc verify' };
  const at = iso(lastScan.finishedAt);
  // Summaries written before the fields existed carry the same numbers in classes.
  const mismatches =
    lastScan.mismatches ?? MISMATCH_CLASSES.reduce((n, c) => n + (lastScan.classes[c] ?? 0), 0);
  const inFlight = lastScan.inFlight ?? lastScan.classes['in-flight'] ?? 0;
  if (mismatches > 0)
    return {
      ok: false,
      detail: `the last scan (${at}) confirmed ${mismatches} mismatches (parity ${lastScan.parityPct}%): run cdc verify --repair, then cdc verify`,
    };
  if (inFlight > 0)
    return {
      ok: false,
      detail:
        `the last scan (${at}) left ${inFlight} keys in flight, not proven either way (the applier had not ` +
        'passed them, or Kafka was unreachable): once consumer-lag is ok, run cdc verify again',
    };
  if (lastScan.parityPct < 100)
    return {
      ok: false,
      detail: `the last scan (${at}) found parity ${lastScan.parityPct}%: run cdc verify --repair, then cdc verify`,
    };
  if (gaps?.lastGapAt != null && lastScan.finishedAt < gaps.lastGapAt)
    return {
      ok: false,
      detail: `the last scan (${iso(lastScan.finishedAt)}) is older than the last gap (${iso(gaps.lastGapAt)}): run cdc verify again`,
    };
  return { ok: true, detail: `100% of ${lastScan.checked} keys at ${iso(lastScan.finishedAt)}` };
}

function p99Check({ streamParity: s }: ReadinessInputs, o: ReadinessOptions): Outcome {
  if (!s || s.lagP99Ms === null) return { ok: false, detail: 'no end-to-end lag measured in the window' };
  return s.lagP99Ms <= o.maxLagP99Ms
    ? { ok: true, detail: `p99 ${secs(s.lagP99Ms)} (p50 ${secs(s.lagP50Ms ?? 0)})` }
    : { ok: false, detail: `end-to-end lag p99 ${secs(s.lagP99Ms)} is over ${secs(o.maxLagP99Ms)}` };
}
