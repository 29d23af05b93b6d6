/** Pure statistics and number formatting for `cdc bench` reports (no I/O, no clocks). */

/** Median of a non-empty list (mean of the two middle values for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1
    ? (sorted[mid] as number)
    : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
}

/** Events (or writes) per second; 0 when no time passed. */
export function ratePerSecond(count: number, ms: number): number {
  return ms > 0 ? (count * 1000) / ms : 0;
}

/** `0.934×`; `n/a` for a ratio that could not be measured. */
export function formatRatio(ratio: number, digits = 3): string {
  return Number.isFinite(ratio) ? `${ratio.toFixed(digits)}×` : 'n/a';
}

/** `84.3k/s`, `1.25M/s`, `740/s`. */
export function formatRate(perSecond: number): string {
  if (!Number.isFinite(perSecond)) return 'n/a';
  if (perSecond >= 1e6) return `${(perSecond / 1e6).toFixed(2)}M/s`;
  if (perSecond >= 1e4) return `${(perSecond / 1e3).toFixed(1)}k/s`;
  if (perSecond >= 1e3) return `${(perSecond / 1e3).toFixed(2)}k/s`;
  return `${Math.round(perSecond)}/s`;
}

/** `1,234,567` (grouping independent of the machine's locale). */
export function formatCount(n: number): string {
  return Math.round(n)
    .toString()
    .replace(/\B(?=(\d{3})+(?!\d))/g, ',');
}

/** `0.312 ms` / `12.4 ms`. */
export function formatMs(ms: number | undefined): string {
  if (ms === undefined || !Number.isFinite(ms)) return 'n/a';
  return ms < 10 ? `${ms.toFixed(3)} ms` : `${ms.toFixed(1)} ms`;
}

/**
 * Fixed-resolution latency histogram: 10 µs buckets up to 100 ms, then one overflow bucket. Recording is one
 * array increment, cheap enough for the writer's hot loop; quantiles are exact to the bucket width.
 */
export class LatencyHistogram {
  static readonly BUCKET_US = 10;
  static readonly BUCKETS = 10_000;
  private readonly counts = new Uint32Array(LatencyHistogram.BUCKETS + 1);
  private n = 0;
  private max = 0;

  record(ms: number): void {
    const us = ms * 1000;
    const i = Math.min(Math.floor(us / LatencyHistogram.BUCKET_US), LatencyHistogram.BUCKETS);
    this.counts[i] = (this.counts[i] as number) + 1;
    this.n++;
    if (ms > this.max) this.max = ms;
  }

  get count(): number {
    return this.n;
  }

  /** Adds another histogram's samples (one per writer client, merged at the end). */
  merge(other: LatencyHistogram): void {
    for (let i = 0; i < this.counts.length; i++)
      this.counts[i] = (this.counts[i] as number) + (other.counts[i] as number);
    this.n += other.n;
    this.max = Math.max(this.max, other.max);
  }

  /** Upper edge of the bucket holding quantile q, in ms (the max for the overflow bucket); undefined if empty. */
  quantile(q: number): number | undefined {
    if (this.n === 0) return undefined;
    const rank = Math.max(1, Math.ceil(q * this.n));
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] as number;
      if (seen >= rank) {
        if (i === LatencyHistogram.BUCKETS) return this.max;
        return Math.min(((i + 1) * LatencyHistogram.BUCKET_US) / 1000, this.max);
      }
    }
    return this.max;
  }
}

/** Sum of every sample of a Prometheus metric in a text exposition (all label sets), 0 if absent. */
export function promTotal(exposition: string, metric: string): number {
  let total = 0;
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(metric)) continue;
    const rest = line.slice(metric.length);
    if (rest[0] !== ' ' && rest[0] !== '{') continue; // a longer name sharing the prefix
    const afterLabels = rest[0] === '{' ? rest.slice(rest.lastIndexOf('}') + 1) : rest;
    const value = Number(afterLabels.trim().split(/\s+/)[0]); // an optional timestamp may follow
    if (Number.isFinite(value)) total += value;
  }
  return total;
}

/** Nearest-rank quantile of unsorted values (q in [0, 1]); undefined when empty. */
export function quantile(values: readonly number[], q: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(q * sorted.length)));
  return sorted[rank - 1];
}

/** Samples of a Prometheus metric summed per value of one label (`{outcome="applied"}` → `applied`). */
export function promByLabel(exposition: string, metric: string, label: string): Record<string, number> {
  const out: Record<string, number> = {};
  const labelRe = new RegExp(`(?:^|[{,])${label}="((?:[^"\\\\]|\\\\.)*)"`);
  for (const line of exposition.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const close = line.lastIndexOf('}');
    const value = Number(
      line
        .slice(close + 1)
        .trim()
        .split(/\s+/)[0],
    );
    const key = labelRe.exec(line.slice(metric.length, close + 1))?.[1];
    if (key !== undefined && Number.isFinite(value)) out[key] = (out[key] ?? 0) + value;
  }
  return out;
}
