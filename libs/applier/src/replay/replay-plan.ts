/** Where a replay starts reading, as the operator chose it. */
export type ReplayStart =
  | { readonly kind: 'beginning' }
  | { readonly kind: 'offset'; readonly offset: string }
  | { readonly kind: 'timestamp'; readonly timestamp: number };

/** One partition's share of a replay: [start, end) in offsets; `end` is the high watermark seen at the start. */
export interface PartitionRange {
  readonly partition: number;
  readonly start: string;
  readonly end: string;
}

/**
 * What a replay persists when it starts, so a resumed run stops at the SAME end offsets (traffic that arrived
 * after the first start is the live applier's job). The replay group's committed offsets are the position.
 */
export interface ReplayCheckpoint {
  readonly source: string;
  readonly topic: string;
  readonly table: string;
  readonly group: string;
  readonly start: ReplayStart;
  readonly startedAt: number;
  readonly partitions: readonly PartitionRange[];
}

export interface Watermarks {
  readonly partition: number;
  readonly low: string;
  readonly high: string;
}

const clamp = (v: bigint, lo: bigint, hi: bigint): bigint => (v < lo ? lo : v > hi ? hi : v);

/**
 * The range of every partition for a fresh start. `byTimestamp` is Kafka's answer for --from-timestamp (the
 * first offset at or after the timestamp, the high watermark when there is none). Offsets below the low
 * watermark are gone (retention, compaction): reading starts at the oldest offset still there. Pure.
 */
export function planRanges(
  start: ReplayStart,
  watermarks: readonly Watermarks[],
  byTimestamp: ReadonlyArray<{ partition: number; offset: string }> = [],
): PartitionRange[] {
  return [...watermarks]
    .sort((a, b) => a.partition - b.partition)
    .map(({ partition, low, high }) => {
      const lo = BigInt(low);
      const hi = BigInt(high);
      let from: bigint;
      switch (start.kind) {
        case 'beginning':
          from = lo;
          break;
        case 'offset':
          from = BigInt(start.offset);
          break;
        case 'timestamp': {
          const found = byTimestamp.find((t) => t.partition === partition);
          if (!found) throw new Error(`no offset for timestamp ${start.timestamp} on partition ${partition}`);
          from = BigInt(found.offset) < 0n ? hi : BigInt(found.offset);
          break;
        }
      }
      return { partition, start: clamp(from, lo, hi).toString(), end: high };
    });
}

/** Kafka's "no committed offset" marker is -1; the range's start stands in for it. */
export function resumePosition(range: PartitionRange, committed: string | undefined): string {
  return committed === undefined || BigInt(committed) < 0n ? range.start : committed;
}

export interface PartitionProgress {
  readonly partition: number;
  /** Offsets covered so far (committed - start), and in all (end - start). Compacted topics have gaps. */
  readonly done: number;
  readonly total: number;
  /** Committed (or handled) position has reached the end offset seen at the start. */
  readonly finished: boolean;
}

/** A partition is done when its position (next offset to read) is at or past the end it started with. Pure. */
export function progressOf(range: PartitionRange, position: string): PartitionProgress {
  const start = BigInt(range.start);
  const end = BigInt(range.end);
  const pos = BigInt(position);
  return {
    partition: range.partition,
    done: Number(clamp(pos - start, 0n, end - start)),
    total: Number(end - start),
    finished: pos >= end,
  };
}

export function allFinished(progress: readonly PartitionProgress[]): boolean {
  return progress.every((p) => p.finished);
}

/**
 * Seconds left at the rate seen since this run started (`doneAtStart`: what a resumed run found done), or
 * null while there is no rate to go by. Pure.
 */
export function etaSeconds(
  p: { done: number; total: number },
  doneAtStart: number,
  elapsedMs: number,
): number | null {
  const remaining = p.total - p.done;
  if (remaining <= 0) return 0;
  const progressed = p.done - doneAtStart;
  if (progressed <= 0 || elapsedMs <= 0) return null;
  return Math.ceil((remaining * elapsedMs) / progressed / 1000);
}

export type StartDecision =
  | { readonly mode: 'fresh'; readonly start: ReplayStart }
  | { readonly mode: 'resume'; readonly checkpoint: ReplayCheckpoint }
  | { readonly mode: 'error'; readonly message: string };

export function describeStart(s: ReplayStart): string {
  switch (s.kind) {
    case 'beginning':
      return '--from-beginning';
    case 'offset':
      return `--from-offset ${s.offset}`;
    case 'timestamp':
      return `--from-timestamp ${new Date(s.timestamp).toISOString()}`;
  }
}

function sameStart(a: ReplayStart, b: ReplayStart): boolean {
  return describeStart(a) === describeStart(b);
}

/**
 * Rerunning the same command resumes an interrupted replay (as does omitting --from-*); a different start
 * needs --restart, so a typo never throws away hours of progress. Pure.
 */
export function decideStart(
  checkpoint: ReplayCheckpoint | null,
  requested: ReplayStart | undefined,
  restart: boolean,
): StartDecision {
  if (restart || !checkpoint) {
    if (requested) return { mode: 'fresh', start: requested };
    return {
      mode: 'error',
      message: restart
        ? '--restart needs a start: --from-beginning, --from-offset <n> or --from-timestamp <time>'
        : 'nothing to resume: give a start, --from-beginning, --from-offset <n> or --from-timestamp <time>',
    };
  }
  if (!requested || sameStart(requested, checkpoint.start)) return { mode: 'resume', checkpoint };
  return {
    mode: 'error',
    message:
      `an interrupted replay into ${checkpoint.table} (started ${new Date(checkpoint.startedAt).toISOString()} ` +
      `with ${describeStart(checkpoint.start)}) is waiting to resume: rerun with ${describeStart(checkpoint.start)} ` +
      `(or no --from-*) to resume it, or add --restart to discard it and start ${describeStart(requested)}`,
  };
}
