import { DLQ_HEADERS as H } from '@cdc/contracts';
import {
  createKafka,
  DlqStore,
  ensureTopics,
  isUnknownTopic,
  type Kafka,
  readTopicToEnd,
  type TopicRecord,
} from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { testConfig, uniqueId } from '@cdc/testing';
import { type Admin, ConfigResourceTypes } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The DLQ's Kafka adapter on a real broker: the bounded topic reader (headers intact, stops at the end offsets
 * seen when it started however fast the topic grows) and the compacted resolutions topic of `cdc dlq accept`.
 */
const kafkaCfg = testConfig().require('kafka').kafka;
const kafka: Kafka = createKafka(kafkaCfg, createLogger('silent'), uniqueId('dlq-int'));
let admin: Admin;

beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  await admin?.disconnect();
});

async function newTopic(partitions: number): Promise<string> {
  const topic = uniqueId('dlq-int');
  await ensureTopics(admin, [
    { topic, partitions, replicationFactor: -1, config: { 'cleanup.policy': 'delete' } },
  ]);
  return topic;
}

describe('readTopicToEnd', () => {
  it('reads every record with its headers, up to the ends seen at the start, while the topic keeps growing', async () => {
    const topic = await newTopic(2);
    const producer = kafka.producer();
    await producer.connect();
    try {
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: 10 }, (_, i) => ({
          key: `k${i}`,
          value: i % 2 ? null : Buffer.from([i, 0xff]),
          partition: i % 2,
          headers: { [H.code]: 'BAD_MAGIC', n: String(i) },
        })),
      });
      // A writer that never stops: the read must end anyway, at the ends it saw first.
      let writing = true;
      const writer = (async () => {
        while (writing) await producer.send({ topic, acks: 1, messages: [{ key: 'more', value: 'x' }] });
      })();
      const seen: TopicRecord[] = [];
      const { read, ends } = await readTopicToEnd(kafka, admin, topic, {
        groupPrefix: 'dlq-int-reader',
        onRecord: (r) => seen.push(r),
      });
      writing = false;
      await writer;
      expect(read).toBe(ends.total);
      expect(seen).toHaveLength(read);
      expect(read).toBeGreaterThanOrEqual(10);
      const first = seen.filter((r) => r.key?.toString().startsWith('k'));
      expect(first.map((r) => r.key?.toString()).sort()).toEqual(
        Array.from({ length: 10 }, (_, i) => `k${i}`).sort(),
      );
      const k4 = first.find((r) => r.key?.toString() === 'k4');
      expect(k4?.value).toEqual(Buffer.from([4, 0xff]));
      expect(k4?.headers[H.code]?.toString()).toBe('BAD_MAGIC');
      expect(first.find((r) => r.key?.toString() === 'k3')?.value).toBeNull();
      // The throwaway group is gone.
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      expect(groups.filter((g) => g.startsWith('dlq-int-reader'))).toEqual([]);
    } finally {
      await producer.disconnect();
    }
  });

  it('returns at once on an empty topic, and names a missing one', async () => {
    const topic = await newTopic(3);
    const onRecord = () => undefined;
    expect((await readTopicToEnd(kafka, admin, topic, { groupPrefix: 'dlq-int-empty', onRecord })).read).toBe(
      0,
    );
    const store = new DlqStore(kafka, admin, {
      dlqTopic: uniqueId('dlq-int-missing'),
      dlqAcceptedTopic: uniqueId('dlq-int-missing'),
      topicReplicationFactor: -1,
    });
    const err = await store.entries().catch((e: unknown) => e);
    expect(isUnknownTopic(err)).toBe(true);
    expect(await store.resolutions()).toEqual(new Map());
  });
});

describe('DlqStore', () => {
  it('records resolutions in a compacted one-partition topic; the latest per record wins', async () => {
    const dlqTopic = await newTopic(2);
    const topics = { dlqTopic, dlqAcceptedTopic: `${dlqTopic}.accepted`, topicReplicationFactor: -1 };
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: dlqTopic,
      acks: -1,
      messages: [
        { key: 'a', value: null, partition: 0, headers: { [H.code]: 'VALUE_TOO_LARGE' } },
        { key: 'b', value: 'junk', partition: 1, headers: { [H.code]: 'BAD_MAGIC' } },
        { key: 'c', value: 'junk', partition: 1, headers: { [H.code]: 'UNDECODABLE' } },
      ],
    });
    await producer.disconnect();
    const store = new DlqStore(kafka, admin, topics);
    expect(await store.standing()).toEqual({
      records: 3,
      notCarried: 1,
      accepted: 0,
      redriven: 0,
      open: { BAD_MAGIC: 1, UNDECODABLE: 1 },
    });
    const { entries } = await store.entries();
    const b = entries.find((e) => e.keyText === 'b');
    const c = entries.find((e) => e.keyText === 'c');
    if (!b || !c) throw new Error('records b and c were not read back');
    await store.resolve([{ entry: b, resolution: 'accepted', note: 'looked' }], 1_000);
    await store.resolve(
      [
        { entry: b, resolution: 'redriven' },
        { entry: c, resolution: 'accepted' },
      ],
      2_000,
    );

    const { resources } = await admin.describeConfigs({
      includeSynonyms: false,
      resources: [
        { type: ConfigResourceTypes.TOPIC, name: topics.dlqAcceptedTopic, configNames: ['cleanup.policy'] },
      ],
    });
    expect(resources[0]?.configEntries[0]?.configValue).toBe('compact');
    expect((await admin.fetchTopicOffsets(topics.dlqAcceptedTopic)).length).toBe(1);

    const resolutions = await store.resolutions();
    expect(resolutions.get(b.id)).toEqual({
      code: 'BAD_MAGIC',
      key: 'b',
      acceptedAt: 2_000,
      resolution: 'redriven',
    });
    expect(resolutions.get(c.id)).toMatchObject({ code: 'UNDECODABLE', resolution: 'accepted' });
    // The cached standing is keyed on both topics' offsets: the new resolutions are seen.
    expect(await store.standing()).toEqual({ records: 3, notCarried: 1, accepted: 1, redriven: 1, open: {} });
    await admin.deleteTopics({ topics: [dlqTopic, topics.dlqAcceptedTopic] }).catch(() => undefined);
  });
});
