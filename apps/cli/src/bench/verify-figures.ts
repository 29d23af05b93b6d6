/** Pure figures of `cdc bench verify`: rates and ratios per round, medians over rounds (no I/O, no clocks). */
import { median, ratePerSecond } from './stats';

/** One round's wall times, measured back to back on the same data (raw passes first, then the verifier). */
export interface RoundTimes {
  readonly round: number;
  /** Items the raw parallel Scan returned, and how long it took (ms). */
  readonly items: number;
  readonly rawScanMs: number;
  /** Keys the raw Redis pass read (MGET for strings, pipelined reads for collections). */
  readonly keys: number;
  readonly rawRedisMs: number;
  /** Both raw passes started together: the overlap the verifier itself has (its sides run concurrently). */
  readonly rawBothMs: number;
  /** TwoSidedScan.run() on the same data: items of the DynamoDB side, keys of the Redis side. */
  readonly verifyItems: number;
  readonly verifyKeys: number;
  readonly verifyMs: number;
  readonly mismatches: number;
}

export interface RoundFigures extends RoundTimes {
  readonly rawScanPerS: number;
  readonly rawRedisPerS: number;
  /** Items per second of the concurrent raw floor (both reads of every item, overlapped). */
  readonly floorPerS: number;
  /** Items per second if the two raw reads could not overlap at all (sum of their times). */
  readonly serialFloorPerS: number;
  readonly verifyPerS: number;
  /** Verifier items/s ÷ raw Scan items/s. */
  readonly verifyVsScan: number;
  /** Verifier items/s ÷ concurrent raw floor items/s. */
  readonly verifyVsFloor: number;
  /** Verifier items/s ÷ serial raw floor items/s. */
  readonly verifyVsSerialFloor: number;
}

const ratio = (a: number, b: number): number => (b > 0 ? a / b : Number.NaN);

export function roundFigures(t: RoundTimes): RoundFigures {
  const rawScanPerS = ratePerSecond(t.items, t.rawScanMs);
  const floorPerS = ratePerSecond(t.items, t.rawBothMs);
  const serialFloorPerS = ratePerSecond(t.items, t.rawScanMs + t.rawRedisMs);
  const verifyPerS = ratePerSecond(t.verifyItems, t.verifyMs);
  return {
    ...t,
    rawScanPerS,
    rawRedisPerS: ratePerSecond(t.keys, t.rawRedisMs),
    floorPerS,
    serialFloorPerS,
    verifyPerS,
    verifyVsScan: ratio(verifyPerS, rawScanPerS),
    verifyVsFloor: ratio(verifyPerS, floorPerS),
    verifyVsSerialFloor: ratio(verifyPerS, serialFloorPerS),
  };
}

export interface MedianFigures {
  readonly rawScanPerS: number;
  readonly rawRedisPerS: number;
  readonly floorPerS: number;
  readonly serialFloorPerS: number;
  readonly verifyPerS: number;
  /** Medians of the per-round ratios (each ratio taken within one round, so drift between rounds cancels). */
  readonly verifyVsScan: number;
  readonly verifyVsFloor: number;
  readonly verifyVsSerialFloor: number;
}

export function medianFigures(rounds: readonly RoundFigures[]): MedianFigures {
  const m = (pick: (r: RoundFigures) => number) => median(rounds.map(pick));
  return {
    rawScanPerS: m((r) => r.rawScanPerS),
    rawRedisPerS: m((r) => r.rawRedisPerS),
    floorPerS: m((r) => r.floorPerS),
    serialFloorPerS: m((r) => r.serialFloorPerS),
    verifyPerS: m((r) => r.verifyPerS),
    verifyVsScan: m((r) => r.verifyVsScan),
    verifyVsFloor: m((r) => r.verifyVsFloor),
    verifyVsSerialFloor: m((r) => r.verifyVsSerialFloor),
  };
}

/** Milliseconds from each record's write (appliedAt) to the verifier's verdict on it; unanswered ones apart. */
export function verdictLags(
  written: ReadonlyArray<{ readonly appliedAt: number; readonly verdictAt: number | undefined }>,
): { lagsMs: number[]; unanswered: number } {
  const lagsMs: number[] = [];
  let unanswered = 0;
  for (const w of written) {
    if (w.verdictAt === undefined) unanswered++;
    else lagsMs.push(Math.max(0, w.verdictAt - w.appliedAt));
  }
  return { lagsMs, unanswered };
}
