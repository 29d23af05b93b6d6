import type { Consumer, EachBatchPayload, IHeaders } from 'kafkajs';

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

/** Resolves only when every message of the batch is durably handled; then the batch is committed. */
export type BatchHandler = (batch: Batch) => Promise<void>;

/**
 * The consumer port: eachBatch with commits after the handler (design invariant 4, at-least-once). Offsets
 * are committed explicitly and never for a partition this member no longer owns.
 */
export class BatchConsumer {
  private member = false;

  constructor(private readonly consumer: Consumer) {
    // Health follows the group membership: a crash without restart, or a stop, leaves the member out.
    consumer.on(consumer.events.GROUP_JOIN, () => (this.member = true));
    consumer.on(consumer.events.CRASH, ({ payload }) => (this.member = payload.restart));
    consumer.on(consumer.events.STOP, () => (this.member = false));
  }

  /** True while this consumer is (or is rejoining as) a member of its group. */
  get healthy(): boolean {
    return this.member;
  }

  async start(topic: string, handler: BatchHandler, fromBeginning = true): Promise<void> {
    await this.consumer.connect();
    await this.consumer.subscribe({ topic, fromBeginning });
    await this.consumer.run({
      autoCommit: false,
      eachBatchAutoResolve: false,
      eachBatch: (payload) => this.onBatch(payload, handler),
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
    await handler({
      topic: batch.topic,
      partition: batch.partition,
      messages,
      heartbeat: () => payload.heartbeat(),
      isActive: () => payload.isRunning() && !payload.isStale(),
    });
    const last = batch.lastOffset();
    payload.resolveOffset(last);
    if (payload.isStale()) return; // revoked during the batch: the new owner re-applies; duplicates are no-ops
    await this.consumer.commitOffsets([
      { topic: batch.topic, partition: batch.partition, offset: (BigInt(last) + 1n).toString() },
    ]);
  }

  async stop(): Promise<void> {
    // disconnect() waits for the running eachBatch to finish before leaving the group.
    await this.consumer.disconnect();
  }
}
