import type { ParityClass } from '@cdc/parity';

/** A verdict after the grace recheck: a mismatch either confirmed or explained as in flight. */
export type Verdict = ParityClass | 'in-flight';

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
    if (prev && prev.version > version) return;
    this.latest.set(id, { verdict, version, at });
  }

  get(key: Buffer): KeyVerdict | undefined {
    return this.latest.get(key.toString('latin1'));
  }

  summary(): { keys: number; matching: number; parity: number; byVerdict: Record<string, number> } {
    const byVerdict: Record<string, number> = {};
    for (const { verdict } of this.latest.values()) byVerdict[verdict] = (byVerdict[verdict] ?? 0) + 1;
    const keys = this.latest.size;
    // In-flight keys are neither proven nor disproven; parity is over decided keys.
    const decided = keys - (byVerdict['in-flight'] ?? 0);
    const matching = byVerdict.match ?? 0;
    return { keys, matching, parity: decided === 0 ? 1 : matching / decided, byVerdict };
  }
}
