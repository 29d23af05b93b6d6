import {
  type DlqEntry,
  type DlqResolution,
  type DlqStanding,
  dlqStanding,
  encodeResolution,
  parseResolution,
  toDlqEntry,
} from '@cdc/contracts';
import type { Admin, Kafka } from 'kafkajs';
import { readTopicToEnd, topicEnds } from './topic-reader';
import { DLQ_ACCEPTED_TOPIC_CONFIG, ensureTopics } from './topics';

export interface DlqTopics {
  readonly dlqTopic: string;
  readonly dlqAcceptedTopic: string;
  readonly topicReplicationFactor: number;
}

/** A topic that does not exist, typed as kafkajs types it. */
export class UnknownTopicError extends Error {
  readonly type = 'UNKNOWN_TOPIC_OR_PARTITION';
  constructor(readonly topic: string) {
    super(`topic ${topic} does not exist`);
    this.name = 'UnknownTopicError';
  }
}

/** kafkajs reports a missing topic directly, or as the cause once its retries are spent. */
export function isUnknownTopic(err: unknown): boolean {
  const e = err as { type?: string; cause?: { type?: string } } | undefined;
  return (e?.type ?? e?.cause?.type) === 'UNKNOWN_TOPIC_OR_PARTITION';
}

export interface DlqRead {
  /** In the order they were written: time, then partition, then offset. */
  readonly entries: DlqEntry[];
  /** The value bytes of the records `keepValue` asked for. */
  readonly values: Map<string, Buffer | null>;
}

/**
 * The DLQ topic and its resolutions topic (`<dlq>.accepted`, compacted) as `cdc dlq` and `cdc status` use them.
 * Reads are bounded by the end offsets seen when they start. The readiness standing is cached on both topics'
 * end offsets, so a status asked every few seconds re-reads only when something was written.
 */
export class DlqStore {
  private cached: { signature: string; standing: DlqStanding } | undefined;

  constructor(
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly topics: DlqTopics,
    private readonly groupPrefix = 'cdc-dlq-reader',
  ) {}

  async entries(
    opts: {
      keepValue?: (id: string) => boolean;
      onProgress?: (read: number, total: number) => void;
    } = {},
  ): Promise<DlqRead> {
    const entries: DlqEntry[] = [];
    const values = new Map<string, Buffer | null>();
    if (!(await this.exists(this.topics.dlqTopic))) throw new UnknownTopicError(this.topics.dlqTopic);
    await readTopicToEnd(this.kafka, this.admin, this.topics.dlqTopic, {
      groupPrefix: this.groupPrefix,
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      onRecord: (r) => {
        const entry = toDlqEntry(r);
        entries.push(entry);
        if (opts.keepValue?.(entry.id)) values.set(entry.id, r.value);
      },
    });
    entries.sort(
      (a, b) => a.time - b.time || a.partition - b.partition || Number(BigInt(a.offset) - BigInt(b.offset)),
    );
    return { entries, values };
  }

  /** The latest resolution per record id; none when the topic was never created (nothing accepted yet). */
  async resolutions(): Promise<Map<string, DlqResolution>> {
    const out = new Map<string, DlqResolution>();
    // Asked first: kafkajs retries a missing topic's offsets for seconds before it says so.
    if (!(await this.exists(this.topics.dlqAcceptedTopic))) return out;
    try {
      await readTopicToEnd(this.kafka, this.admin, this.topics.dlqAcceptedTopic, {
        groupPrefix: this.groupPrefix,
        onRecord: (r) => {
          const id = r.key?.toString('utf8');
          if (id === undefined) return;
          const resolution = parseResolution(r.value);
          if (resolution) out.set(id, resolution);
          else out.delete(id); // a Kafka tombstone (or a foreign value) withdraws the resolution
        },
      });
    } catch (err) {
      if (!isUnknownTopic(err)) throw err;
    }
    return out;
  }

  private async exists(topic: string): Promise<boolean> {
    return (await this.admin.listTopics()).includes(topic);
  }

  /** Records resolutions durably (acks=all); creates the compacted topic on first use. */
  async resolve(
    items: ReadonlyArray<{ entry: DlqEntry; resolution: DlqResolution['resolution']; note?: string }>,
    now = Date.now(),
  ): Promise<void> {
    if (items.length === 0) return;
    const { dlqAcceptedTopic: topic, topicReplicationFactor } = this.topics;
    await ensureTopics(this.admin, [
      { topic, partitions: 1, replicationFactor: topicReplicationFactor, config: DLQ_ACCEPTED_TOPIC_CONFIG },
    ]).catch((err: { type?: string }) => {
      if (err.type !== 'TOPIC_ALREADY_EXISTS') throw err;
    });
    const producer = this.kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: items.map(({ entry, resolution, note }) => ({
          key: entry.id,
          value: encodeResolution({
            code: entry.code,
            key: entry.keyText,
            acceptedAt: now,
            resolution,
            ...(note !== undefined ? { note } : {}),
          }),
        })),
      });
    } finally {
      await producer.disconnect().catch(() => undefined);
    }
  }

  /**
   * The readiness view: counts only. An empty DLQ is answered from its offsets alone, and the resolutions are
   * read only when some record is not explained by policy. Throws when the DLQ topic does not exist.
   */
  async standing(): Promise<DlqStanding> {
    if (!(await this.exists(this.topics.dlqTopic))) throw new UnknownTopicError(this.topics.dlqTopic);
    const dlq = await topicEnds(this.admin, this.topics.dlqTopic);
    if (dlq.total === 0) return { records: 0, notCarried: 0, accepted: 0, redriven: 0, open: {} };
    const accepted = (await this.exists(this.topics.dlqAcceptedTopic))
      ? await topicEnds(this.admin, this.topics.dlqAcceptedTopic)
      : null;
    const signature = JSON.stringify([dlq.partitions, accepted?.partitions ?? null]);
    if (this.cached?.signature === signature) return this.cached.standing;
    const { entries } = await this.entries();
    const needResolutions = accepted !== null && entries.some((e) => e.kind !== 'not-carried');
    const standing = dlqStanding(entries, needResolutions ? await this.resolutions() : new Map());
    this.cached = { signature, standing };
    return standing;
  }
}
