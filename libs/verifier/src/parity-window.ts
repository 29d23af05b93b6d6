import type { StreamParitySnapshot } from '@cdc/redis';
import type { Verdict } from './parity-ledger';

/** Lag samples kept per second of the window; past it, each new sample replaces a random kept one. */
const SAMPLES_PER_BUCKET = 256;

interface Bucket {
  readonly second: number;
  readonly classes: Map<Verdict, number>;
  readonly lags: number[];
  seenLags: number;
}

/**
 * Per-record parity over the last `windowMs`, and end-to-end lag quantiles over the same window: what
 * `cdc status` reads (as a StreamParitySnapshot) to judge the stream side of cutover readiness. Counts live in
 * one-second buckets, so memory is bounded by the window, not by the record rate.
 */
export class ParityWindow {
  private readonly buckets: Bucket[] = [];

  constructor(
    readonly windowMs: number,
    private readonly random: () => number = Math.random,
  ) {}

  /** One stream record's final class (after the in-flight recheck where there was one). */
  add(verdict: Verdict, at = Date.now()): void {
    const b = this.bucket(at);
    b.classes.set(verdict, (b.classes.get(verdict) ?? 0) + 1);
  }

  /** One record's capture-to-stream lag in ms. */
  lag(ms: number, at = Date.now()): void {
    const b = this.bucket(at);
    b.seenLags++;
    if (b.lags.length < SAMPLES_PER_BUCKET) b.lags.push(ms);
    else {
      // Reservoir sampling: every sample of the second has the same chance to be kept.
      const slot = Math.floor(this.random() * b.seenLags);
      if (slot < SAMPLES_PER_BUCKET) b.lags[slot] = ms;
    }
  }

  /** Records per class over the window: the snapshot's counts without sorting its lag samples (for gauges). */
  classes(now = Date.now()): Record<string, number> {
    this.prune(now);
    const classes: Record<string, number> = {};
    for (const b of this.buckets)
      for (const [verdict, n] of b.classes) classes[verdict] = (classes[verdict] ?? 0) + n;
    return classes;
  }

  snapshot(now = Date.now()): StreamParitySnapshot {
    this.prune(now);
    const classes: Record<string, number> = {};
    const lags: number[] = [];
    for (const b of this.buckets) {
      for (const [verdict, n] of b.classes) classes[verdict] = (classes[verdict] ?? 0) + n;
      lags.push(...b.lags);
    }
    lags.sort((x, y) => x - y);
    return {
      at: now,
      windowMs: this.windowMs,
      classes,
      lagP50Ms: quantile(lags, 0.5),
      lagP99Ms: quantile(lags, 0.99),
    };
  }

  private bucket(at: number): Bucket {
    const second = Math.floor(at / 1000);
    const last = this.buckets.at(-1);
    if (last && last.second >= second) return last; // a late sample joins the newest second
    const b: Bucket = { second, classes: new Map(), lags: [], seenLags: 0 };
    this.buckets.push(b);
    this.prune(at);
    return b;
  }

  private prune(now: number): void {
    const oldest = Math.floor((now - this.windowMs) / 1000);
    while (this.buckets.length > 0 && (this.buckets[0] as Bucket).second <= oldest) this.buckets.shift();
  }
}

/** Nearest-rank quantile of sorted values; null when there are none. */
export function quantile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.ceil(q * sorted.length) - 1)] ?? null;
}
