import type { Admin } from 'kafkajs';

/**
 * The changes topic is log-compacted: every event is a key's full state, so the compacted log is a complete,
 * bounded snapshot that replays into any new table. min.compaction.lag.ms keeps recent history intact for
 * consumers that are behind. https://kafka.apache.org/documentation/#compaction
 * The DLQ is a plain delete-policy topic with long retention.
 */
export interface TopicSpec {
  readonly topic: string;
  readonly partitions: number;
  /** -1 = the broker's default.replication.factor (KIP-464). */
  readonly replicationFactor: number;
}

export const CHANGES_TOPIC_CONFIG = {
  'cleanup.policy': 'compact',
  'min.compaction.lag.ms': String(24 * 3600 * 1000),
};

export const DLQ_TOPIC_CONFIG = {
  'cleanup.policy': 'delete',
  'retention.ms': String(30 * 24 * 3600 * 1000),
};

/**
 * `<dlq>.accepted`: the latest resolution per DLQ record (key "partition:offset"), so compaction keeps it
 * small and it never expires while its record may still be read. One partition: a handful of records.
 */
export const DLQ_ACCEPTED_TOPIC_CONFIG = {
  'cleanup.policy': 'compact',
};

/** Creates the topics that are missing (an existing topic is left as it is: partitions never shrink). */
export async function ensureTopics(
  admin: Admin,
  specs: ReadonlyArray<TopicSpec & { config: Record<string, string> }>,
): Promise<string[]> {
  const existing = new Set(await admin.listTopics());
  const missing = specs.filter((s) => !existing.has(s.topic));
  if (missing.length === 0) return [];
  await admin.createTopics({
    waitForLeaders: true,
    topics: missing.map((s) => ({
      topic: s.topic,
      numPartitions: s.partitions,
      replicationFactor: s.replicationFactor,
      configEntries: Object.entries(s.config).map(([name, value]) => ({ name, value })),
    })),
  });
  return missing.map((s) => s.topic);
}

/** The changes topic and its DLQ, as configured. Any process may call this at start (idempotent). */
export function changeTopicSpecs(cfg: {
  topic: string;
  dlqTopic: string;
  topicPartitions: number;
  topicReplicationFactor: number;
}): Array<TopicSpec & { config: Record<string, string> }> {
  const base = { partitions: cfg.topicPartitions, replicationFactor: cfg.topicReplicationFactor };
  return [
    { ...base, topic: cfg.topic, config: CHANGES_TOPIC_CONFIG },
    { ...base, topic: cfg.dlqTopic, config: DLQ_TOPIC_CONFIG },
  ];
}

/** Connects an admin client just long enough to create what is missing. */
export async function ensureChangeTopics(
  kafka: { admin(): Admin },
  cfg: Parameters<typeof changeTopicSpecs>[0],
): Promise<string[]> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    return await ensureTopics(admin, changeTopicSpecs(cfg));
  } catch (err) {
    // Two processes racing to create the same topic: the loser sees TOPIC_ALREADY_EXISTS; that is success.
    if ((err as { type?: string }).type === 'TOPIC_ALREADY_EXISTS') return [];
    throw err;
  } finally {
    await admin.disconnect();
  }
}
