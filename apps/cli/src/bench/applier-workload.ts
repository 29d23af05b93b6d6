/** The applier benchmark's workloads: seeded, pure, so a run is reproducible and the expected state is known. */
import type { ChangeEvent } from '@cdc/contracts';

/** mulberry32: a tiny seeded PRNG, uniform in [0, 1). Enough for workload shapes (not for cryptography). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/**
 * Zipf over ranks 0..keys-1: P(rank r) ∝ 1 / (r + 1)^s. Inverse-CDF sampling with a binary search over the
 * precomputed cumulative weights (keys ≤ a few million, so the table is cheap).
 */
export class ZipfSampler {
  private readonly cdf: Float64Array;

  constructor(
    readonly keys: number,
    readonly s: number,
    private readonly random: () => number,
  ) {
    if (!Number.isInteger(keys) || keys < 1) throw new RangeError(`zipf: keys must be ≥ 1, not ${keys}`);
    if (!(s > 0)) throw new RangeError(`zipf: s must be > 0, not ${s}`);
    this.cdf = new Float64Array(keys);
    let sum = 0;
    for (let r = 0; r < keys; r++) {
      sum += 1 / (r + 1) ** s;
      this.cdf[r] = sum;
    }
    for (let r = 0; r < keys; r++) this.cdf[r] = (this.cdf[r] as number) / sum;
  }

  /** A rank: 0 is the hottest key. */
  next(): number {
    const u = this.random();
    let lo = 0;
    let hi = this.keys - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((this.cdf[mid] as number) > u) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}

/** `count` ranks drawn from a zipf(s) over `keys` keys, reproducible from `seed`. */
export function zipfSequence(count: number, keys: number, s: number, seed: number): Uint32Array {
  const sampler = new ZipfSampler(keys, s, seededRandom(seed));
  const out = new Uint32Array(count);
  for (let i = 0; i < count; i++) out[i] = sampler.next();
  return out;
}

/** Per key rank: the index of its last event in the sequence (the state the table must end with). */
export function lastIndexByKey(sequence: ArrayLike<number>): Map<number, number> {
  const last = new Map<number, number>();
  for (let i = 0; i < sequence.length; i++) last.set(sequence[i] as number, i);
  return last;
}

/**
 * A change event as capture makes it for `SET key value` (string, no TTL, live). Versions come from the caller:
 * a run-wide increasing counter keeps every key's versions increasing in produce order.
 */
export function stringSetEvent(
  sourceId: string,
  key: string,
  value: string,
  version: bigint,
  capturedAt: number,
): ChangeEvent {
  return {
    sourceId,
    db: 0,
    key: Buffer.from(key),
    op: 'UPSERT',
    value: { type: 'string', data: Buffer.from(value) },
    version,
    expireAt: null,
    event: 'set',
    origin: 'live',
    capturedAt,
  };
}

/** `<seq>:` padded with x to `bytes`: the value names the event that wrote it (a correctness check reads it back). */
export function paddedValue(seq: number, bytes: number): string {
  const head = `${seq}:`;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}
