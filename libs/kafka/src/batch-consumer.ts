import type { Consumer, EachBatchPayload, IHeaders } from 'kafkajs';
import { GroupCommit } from './group-commit';

export interface ConsumedMessage {
  readonly partition: number;
  readonly offset: string;
  readonly key: Buffer | null;
  /** Null = a Kafka tombstone (compaction marker after a DELETE event). */
  readonly value: Buffer | null;
  readonly headers: IHeaders;
  readonly timestamp: string;
}

export interface Batch {
  readonly topic: string;
  readonly partition: number;
  readonly messages: readonly ConsumedMessage[];
  /** Keeps the group membership alive during long batches. */
  heartbeat(): Promise<void>;
  /** False once the partition was revoked or the consumer is stopping. */
  isActive(): boolean;
}

/**
 * Resolves only when every message of the batch is durably handled; then the batch is committed. Throwing
 * means "not now" (DynamoDB down after the SDK's retries, the DLQ unwritable, ...): the partition is paused and
 * the same messages come back after a backoff. Nothing is skipped and nothing is committed past them.
 */
export type BatchHandler = (batch: Batch) => Promise<void>;

export interface PartitionPause {
  readonly topic: string;
  readonly partition: number;
  /** Consecutive failures of this partition (1 = first). */
  readonly attempt: number;
  readonly delayMs: number;
  readonly error: Error;
}

/** What a failed batch means: come back after `delayMs`, or stop consuming until an operator acts. */
export type BatchFailureDecision =
  | { readonly action: 'retry'; readonly delayMs: number }
  | { readonly action: 'stop'; readonly message: string };

export interface ConsumerStop {
  readonly topic: string;
  readonly partition: number;
  /** The failed batch's first offset: nothing from here on is committed. */
  readonly offset: string;
  readonly error: Error;
  /** What failed and the fix (from the `decide` hook). */
  readonly message: string;
}

export interface BatchConsumerOptions {
  /**
   * Asked for every failed batch (the applier passes its failure policy). Default: retry after pauseDelayMs.
   * `stop` pauses the whole topic with the failed batch uncommitted; the consumer stays stopped.
   */
  readonly decide?: (error: Error, attempt: number) => BatchFailureDecision;
  /** Told once, when a failed batch stopped the consumer (log it loudly: it names the fix). */
  readonly onStop?: (stop: ConsumerStop) => void;
  /** Told each time a partition is paused after a failed batch (log it, count it). */
  readonly onPause?: (pause: PartitionPause) => void;
  /** Told when a paused partition succeeds again. */
  readonly onRecover?: (topic: string, partition: number, attempts: number) => void;
  /** Told after each committed batch, with the end offset its fetch saw (for the consumer-lag gauge). */
  readonly onCommitted?: (committed: CommittedBatch) => void;
}

export interface CommittedBatch {
  readonly topic: string;
  readonly partition: number;
  /** The offset committed: the next one to read. */
  readonly offset: string;
  /** The partition's end offset when the batch was fetched. */
  readonly highWatermark: string;
}

/** Exponential backoff for a failing partition: 1 s, 2 s, 4 s ... capped at 30 s. Pure. */
export function pauseDelayMs(attempt: number, baseMs = 1_000, capMs = 30_000): number {
  return Math.min(capMs, baseMs * 2 ** Math.max(0, Math.min(attempt - 1, 30)));
}

/**
 * The consumer port: eachBatch with commits after the handler (design invariant 4, at-least-once). Offsets
 * are committed explicitly and never for a partition this member no longer owns.
 */
export class BatchConsumer {
  private member = false;
  /** Consecutive failures per `topic:partition`, and the pending resume of each paused one. */
  private readonly failures = new Map<string, number>();
  private readonly resumes = new Map<string, NodeJS.Timeout>();
  private readonly errors = new Map<string, string>();
  private topic: string | undefined;
  private stopping = false;
  private stoppedBy: ConsumerStop | undefined;
  /** The batches being handled (one per partition at most), so stop() can wait for their commits. */
  private readonly inFlight = new Set<Promise<void>>();
  /** Batches of concurrently consumed partitions share OffsetCommit requests. */
  private readonly commits: GroupCommit;

  constructor(
    private readonly consumer: Consumer,
    private readonly opts: BatchConsumerOptions = {},
  ) {
    // Health follows the group membership: a crash without restart, or a stop, leaves the member out.
    consumer.on(consumer.events.GROUP_JOIN, () => (this.member = true));
    consumer.on(consumer.events.CRASH, ({ payload }) => (this.member = payload.restart));
    consumer.on(consumer.events.STOP, () => (this.member = false));
    this.commits = new GroupCommit((offsets) => consumer.commitOffsets(offsets));
  }

  /** True while this consumer is (or is rejoining as) a member of its group and not stopped by a failure. */
  get healthy(): boolean {
    return this.member && this.stoppedBy === undefined;
  }

  /** Set once a failed batch stopped consumption (the failure policy said an operator must act). */
  get stopped(): ConsumerStop | undefined {
    return this.stoppedBy;
  }

  /** Partitions currently paused after a failure, with the last error: for health and status. */
  get paused(): Array<{ partition: string; error: string }> {
    return [...this.resumes.keys()].map((partition) => ({
      partition,
      error: this.errors.get(partition) ?? '',
    }));
  }

  /**
   * `partitions`: how many partitions' batches are handled at once (kafkajs partitionsConsumedConcurrently).
   * Order per key holds either way: a key lives in one partition, whose batches still come one at a time.
   */
  async start(topic: string, handler: BatchHandler, fromBeginning = true, partitions = 1): Promise<void> {
    this.topic = topic;
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: partitions,
      eachBatch: async (payload) => {
        // Left unresolved and uncommitted: whoever reads next (or this app, restarted after the fix) gets it.
        if (this.stopping || this.stoppedBy) return;
        const run = this.onBatch(payload, handler);
        this.inFlight.add(run);
        try {
          await run;
        } finally {
          this.inFlight.delete(run);
        }
      },
    });
  }

  private async onBatch(payload: EachBatchPayload, handler: BatchHandler): Promise<void> {
    const { batch } = payload;
    if (batch.messages.length === 0) return;
    const messages = batch.messages.map((m) => ({
      partition: batch.partition,
      offset: m.offset,
      key: m.key,
      value: m.value,
      headers: m.headers ?? {},
      timestamp: m.timestamp,
    }));
    const id = `${batch.topic}:${batch.partition}`;
    try {
      await handler({
        topic: batch.topic,
        partition: batch.partition,
        messages,
        heartbeat: () => payload.heartbeat(),
        isActive: () => payload.isRunning() && !payload.isStale(),
      });
    } catch (err) {
      // Stopping or revoked: nothing to pause; whoever reads next starts from the last commit.
      if (!payload.isRunning() || payload.isStale()) return;
      // Pause instead of throwing into kafkajs (whose retries would end in a crash and a restart): the
      // batch's offsets stay unresolved, so after the resume kafkajs fetches the same messages again.
      const attempt = (this.failures.get(id) ?? 0) + 1;
      const decision = this.opts.decide?.(err as Error, attempt) ?? {
        action: 'retry',
        delayMs: pauseDelayMs(attempt),
      };
      if (decision.action === 'stop') {
        this.halt(payload, messages[0]?.offset ?? '', err as Error, decision.message);
        return;
      }
      // Stopped by another partition's batch meanwhile: a retry's resume would re-open this partition under the
      // topic-wide pause (kafkajs would fetch it again and again), so this one stays paused with the rest.
      if (this.stoppedBy) {
        payload.pause();
        return;
      }
      this.failures.set(id, attempt);
      this.errors.set(id, (err as Error).message);
      const delayMs = decision.delayMs;
      const resume = payload.pause();
      clearTimeout(this.resumes.get(id));
      this.resumes.set(
        id,
        setTimeout(() => {
          this.resumes.delete(id);
          if (!this.stoppedBy) resume();
        }, delayMs),
      );
      this.opts.onPause?.({
        topic: batch.topic,
        partition: batch.partition,
        attempt,
        delayMs,
        error: err as Error,
      });
      return;
    }
    const attempts = this.failures.get(id);
    if (attempts !== undefined) {
      this.failures.delete(id);
      this.errors.delete(id);
      this.opts.onRecover?.(batch.topic, batch.partition, attempts);
    }
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    if (payload.isStale()) return; // revoked during the batch: the new owner re-applies; duplicates are no-ops
    await this.commits.commit(
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
      () => !payload.isStale(),
    );
    if (!payload.isStale()) {
      const { topic, partition, highWatermark } = batch;
      this.opts.onCommitted?.({ topic, partition, offset: (BigInt(last) + 1n).toString(), highWatermark });
    }
  }

  /** Stops consuming the whole topic on a failure only an operator can fix; the failed batch stays uncommitted. */
  private halt(payload: EachBatchPayload, offset: string, error: Error, message: string): void {
    const { batch } = payload;
    payload.pause();
    if (this.stoppedBy) return; // another partition's batch already stopped it
    this.stoppedBy = { topic: batch.topic, partition: batch.partition, offset, error, message };
    for (const timer of this.resumes.values()) clearTimeout(timer);
    this.resumes.clear();
    this.consumer.pause([{ topic: batch.topic }]);
    this.opts.onStop?.(this.stoppedBy);
  }

  /**
   * Graceful stop: stop fetching, let the in-flight batch finish AND commit, then leave the group. kafkajs drops
   * a commit made once its own stop() has begun, so the drain happens before disconnect(), not inside it.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.resumes.values()) clearTimeout(timer);
    this.resumes.clear();
    if (this.topic !== undefined && this.member) this.consumer.pause([{ topic: this.topic }]);
    await Promise.allSettled([...this.inFlight]);
    await this.consumer.disconnect();
  }
}
