import { randomBytes } from 'node:crypto';
import type { Admin, IHeaders, Kafka } from 'kafkajs';

export interface TopicRecord {
  readonly partition: number;
  readonly offset: string;
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers: IHeaders;
}

export interface TopicEnds {
  /** Per partition: the first offset still held and the end offset (next to be written) seen at the start. */
  readonly partitions: ReadonlyArray<{ partition: number; low: string; high: string }>;
  /** Records between low and high over all partitions (an upper bound on a compacted topic). */
  readonly total: number;
}

export async function topicEnds(admin: Admin, topic: string): Promise<TopicEnds> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const partitions = offsets
    .map((o) => ({ partition: o.partition, low: o.low, high: o.high }))
    .sort((a, b) => a.partition - b.partition);
  const total = partitions.reduce((sum, p) => sum + Number(BigInt(p.high) - BigInt(p.low)), 0);
  return { partitions, total };
}

export interface ReadToEndOptions {
  /** Prefix of the throwaway consumer group (a random suffix is added; the group is deleted afterwards). */
  readonly groupPrefix: string;
  readonly onRecord: (record: TopicRecord) => void;
  /** After each fetched batch: records read so far, of `total` at most. */
  readonly onProgress?: (read: number, total: number) => void;
  /** Give up (throw) after this long without reaching the end. Default 120 s. */
  readonly timeoutMs?: number;
}

/**
 * Reads a topic from its first held offset to the end offsets observed at the start, then stops: bounded, it
 * never waits for records written meanwhile. kafkajs has no manual assignment, so it reads through a fresh
 * consumer group that never commits and is deleted at the end. Throws kafkajs' UNKNOWN_TOPIC_OR_PARTITION
 * error when the topic does not exist.
 */
export async function readTopicToEnd(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  opts: ReadToEndOptions,
): Promise<{ read: number; ends: TopicEnds }> {
  const ends = await topicEnds(admin, topic);
  const remaining = new Map<number, bigint>();
  for (const p of ends.partitions)
    if (BigInt(p.high) > BigInt(p.low)) remaining.set(p.partition, BigInt(p.high));
  let read = 0;
  if (remaining.size === 0) return { read, ends };

  const groupId = `${opts.groupPrefix}.${randomBytes(6).toString('hex')}`;
  const consumer = kafka.consumer({ groupId, allowAutoTopicCreation: false, maxWaitTimeInMs: 500 });
  let finish: () => void = () => undefined;
  let failed: (err: Error) => void = () => undefined;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    failed = reject;
  });
  consumer.on(consumer.events.CRASH, ({ payload }) => failed(payload.error));
  const timeoutMs = opts.timeoutMs ?? 120_000;
  const timer = setTimeout(
    () =>
      failed(new Error(`reading ${topic} took over ${timeoutMs} ms (${read} of ${ends.total} records read)`)),
    timeoutMs,
  );
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const high = remaining.get(batch.partition);
        if (high === undefined) return;
        for (const m of batch.messages) {
          if (BigInt(m.offset) >= high) break;
          read++;
          opts.onRecord({
            partition: batch.partition,
            offset: m.offset,
            timestamp: m.timestamp,
            key: m.key ?? null,
            value: m.value ?? null,
            headers: m.headers ?? {},
          });
        }
        opts.onProgress?.(read, ends.total);
        // Compaction leaves holes: the batch's last offset, not its last record, says how far it reached.
        if (BigInt(batch.lastOffset()) + 1n >= high) {
          remaining.delete(batch.partition);
          if (remaining.size === 0) finish();
        }
        await Promise.resolve();
      },
    });
    await done;
    return { read, ends };
  } finally {
    clearTimeout(timer);
    await consumer.disconnect().catch(() => undefined);
    // Nothing was committed, but the group's name would linger in listings: remove it.
    await admin.deleteGroups([groupId]).catch(() => undefined);
  }
}
