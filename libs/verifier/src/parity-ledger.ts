import { compareVersion } from '@cdc/contracts';
import type { ParityClass } from '@cdc/parity';

/**
 * A verdict after the recheck (in-flight.ts): a mismatch either confirmed, or explained as in flight, or still in
 * flight past the limit (stuck, reported with the lag); `not-carried`: a key left out by policy (a stream, a
 * value over the size limit), counted apart from parity and never repaired.
 */
export type Verdict = ParityClass | 'in-flight' | 'stuck' | 'not-carried';

/** Neither proven nor disproven, or out of scope by policy: not part of the parity ratio. */
export const OUTSIDE_PARITY: readonly Verdict[] = ['in-flight', 'not-carried'];

export interface KeyVerdict {
  readonly verdict: Verdict;
  readonly version: bigint;
  readonly at: number;
}

/** The latest verdict per key, and counts over them: what "parity" means at a moment. */
export class ParityLedger {
  private readonly latest = new Map<string, KeyVerdict>();

  record(key: Buffer, verdict: Verdict, version: bigint, at = Date.now()): void {
    const id = key.toString('latin1');
    const prev = this.latest.get(id);
    // A recheck of an older record must not overwrite the verdict of a newer one.
    if (prev && compareVersion(prev.version, version) === 'newer') return;
    this.latest.set(id, { verdict, version, at });
  }

  get(key: Buffer): KeyVerdict | undefined {
    return this.latest.get(key.toString('latin1'));
  }

  /**
   * `mismatches`: confirmed ones only (not in flight, not carried, not stuck: a stuck key is still waiting on
   * the pipeline; it fails parity but is not known to differ).
   */
  summary(): {
    keys: number;
    matching: number;
    mismatches: number;
    parity: number;
    byVerdict: Record<string, number>;
  } {
    const byVerdict: Record<string, number> = {};
    for (const { verdict } of this.latest.values()) byVerdict[verdict] = (byVerdict[verdict] ?? 0) + 1;
    const keys = this.latest.size;
    // In-flight keys are neither proven nor disproven, not-carried ones out of scope: parity is over the rest.
    const decided = OUTSIDE_PARITY.reduce((n, v) => n - (byVerdict[v] ?? 0), keys);
    const matching = byVerdict.match ?? 0;
    const mismatches = decided - matching - (byVerdict.stuck ?? 0);
    return { keys, matching, mismatches, parity: decided === 0 ? 1 : matching / decided, byVerdict };
  }
}
