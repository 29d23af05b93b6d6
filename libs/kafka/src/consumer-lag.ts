import type { Admin } from 'kafkajs';
import type { CommittedBatch } from './batch-consumer';

/** Messages left in a partition after a committed batch: the end offset its fetch saw minus the next to read. */
export function lagAfterCommit(highWatermark: string, nextOffset: string): number {
  const lag = BigInt(highWatermark) - BigInt(nextOffset);
  return Number(lag > 0n ? lag : 0n);
}

/**
 * A group's lag per partition: end offset minus the committed offset; a partition the group never committed on
 * lags by everything it still holds (end minus start: retention may have removed the rest).
 */
export function groupLag(
  watermarks: ReadonlyArray<{ partition: number; high: string; low: string }>,
  committed: ReadonlyArray<{ partition: number; offset: string }>,
): Array<{ partition: number; end: string; committed: string | null; lag: number }> {
  const byPartition = new Map(committed.map((c) => [c.partition, c.offset]));
  return [...watermarks]
    .sort((a, b) => a.partition - b.partition)
    .map(({ partition, high, low }) => {
      const offset = byPartition.get(partition);
      const done = offset !== undefined && BigInt(offset) >= 0n ? offset : null;
      return { partition, end: high, committed: done, lag: lagAfterCommit(high, done ?? low) };
    });
}

/** The gauge the lag goes to (prom-client's Gauge fits). */
export interface LagGauge {
  set(labels: { topic: string; partition: string }, value: number): void;
}

export interface ConsumerLagWatchOptions {
  readonly group: string;
  readonly topic: string;
  readonly gauge: LagGauge;
  /** How often every partition is refreshed from the group's committed offsets. */
  readonly intervalMs?: number;
  /** Told when a refresh fails (Kafka away); the values stay until the next one succeeds. */
  readonly onError?: (err: Error) => void;
}

/**
 * The consumer lag of one group on one topic, per partition. Each committed batch updates its partition at once
 * (as the consumer sees it); a timer refreshes every partition from the group's committed offsets, because
 * kafkajs hands over no empty batch: a partition that went idle, or one this member stopped consuming (paused,
 * stopped by a failure, revoked), would otherwise keep its last value.
 */
export class ConsumerLagWatch {
  private timer: NodeJS.Timeout | undefined;
  private connected = false;
  private failing = false;
  private stopped = false;
  /** When each partition was last set from a commit: an older refresh must not overwrite it. */
  private readonly committedAt = new Map<number, number>();
  private refreshing: Promise<void> | undefined;

  constructor(
    private readonly admin: Admin,
    private readonly opts: ConsumerLagWatchOptions,
  ) {}

  /** Refreshes once in the background, then every `intervalMs`. Never throws: Kafka may be away. */
  start(): void {
    const refresh = () => {
      this.refreshing ??= this.refresh().finally(() => (this.refreshing = undefined));
    };
    refresh();
    this.timer = setInterval(refresh, this.opts.intervalMs ?? 15_000);
    this.timer.unref();
  }

  committed(c: CommittedBatch): void {
    if (c.topic !== this.opts.topic) return;
    this.committedAt.set(c.partition, Date.now());
    this.set(c.partition, lagAfterCommit(c.highWatermark, c.offset));
  }

  /** Reads the end offsets and the group's committed offsets, and sets every partition. */
  async refresh(): Promise<void> {
    const { group, topic } = this.opts;
    const startedAt = Date.now();
    try {
      if (!this.connected) {
        await this.admin.connect();
        this.connected = true;
      }
      if (this.stopped) {
        // stop() ran while the connect was in flight: its disconnect came too early to close this connection.
        await this.admin.disconnect().catch(() => undefined);
        return;
      }
      const [watermarks, [committed]] = await Promise.all([
        this.admin.fetchTopicOffsets(topic),
        this.admin.fetchOffsets({ groupId: group, topics: [topic] }),
      ]);
      for (const { partition, lag } of groupLag(watermarks, committed?.partitions ?? [])) {
        if ((this.committedAt.get(partition) ?? 0) < startedAt) this.set(partition, lag);
      }
      this.failing = false;
    } catch (err) {
      if (!this.failing) this.opts.onError?.(err as Error);
      this.failing = true;
    }
  }

  /**
   * Does not wait for a refresh in flight (Kafka may be away): its result is dropped. The disconnect is given
   * at most `waitMs`, so a shutdown with Kafka gone is not held up here.
   */
  async stop(waitMs = 1_000): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      this.admin.disconnect().catch(() => undefined),
      new Promise<void>((resolve) => (timer = setTimeout(resolve, waitMs))),
    ]);
    clearTimeout(timer);
  }

  private set(partition: number, lag: number): void {
    if (this.stopped) return;
    this.opts.gauge.set({ topic: this.opts.topic, partition: String(partition) }, lag);
  }
}
