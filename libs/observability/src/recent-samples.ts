/** A fixed-size window of recent samples, for quantiles on a live status line (Prometheus gets histograms). */
export class RecentSamples {
  private readonly buf: number[] = [];
  private next = 0;

  constructor(private readonly size = 1024) {}

  add(value: number): void {
    if (this.buf.length < this.size) this.buf.push(value);
    else this.buf[this.next] = value;
    this.next = (this.next + 1) % this.size;
  }

  /** q in [0,1]; undefined when empty. */
  quantile(q: number): number | undefined {
    if (this.buf.length === 0) return undefined;
    const sorted = [...this.buf].sort((a, b) => a - b);
    return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))];
  }
}
