import {
  type Batch,
  BatchConsumer,
  BatchPublisher,
  CHANGES_TOPIC_CONFIG,
  createKafka,
  ensureChangeTopics,
  ensureTopics,
  type Kafka,
  orderedProducer,
} from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { testConfig, uniqueId, waitFor } from '@cdc/testing';
import { randomBytes } from 'node:crypto';
import { type Admin, ConfigResourceTypes, type Consumer, type Producer } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The Kafka adapter on a real broker (KRaft 3.9.1): topic admin, the single-flight batch publisher, and the
 * commit-after-handler batch consumer. Every topic and group is unique to this file run.
 */

const config = testConfig();
const kafkaCfg = config.require('kafka').kafka;
// kafkajs logs the handler error we provoke on purpose at ERROR; TEST_LOG_LEVEL=warn shows it.
const logger = createLogger(process.env.TEST_LOG_LEVEL ?? 'silent', 'kafka-int');
const kafka: Kafka = createKafka(kafkaCfg, logger, uniqueId('kafka-int'));
let admin: Admin;

const cleanup: Array<() => Promise<unknown>> = [];
beforeAll(async () => {
  admin = kafka.admin();
  await admin.connect();
});
afterAll(async () => {
  for (const c of cleanup.reverse()) await c().catch(() => undefined);
  await admin?.disconnect();
});

async function topicConfig(topic: string, names: string[]): Promise<Record<string, string | undefined>> {
  const { resources } = await admin.describeConfigs({
    includeSynonyms: false,
    resources: [{ type: ConfigResourceTypes.TOPIC, name: topic, configNames: names }],
  });
  return Object.fromEntries((resources[0]?.configEntries ?? []).map((e) => [e.configName, e.configValue]));
}

async function partitionCount(topic: string): Promise<number> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
  return topics.find((t) => t.name === topic)?.partitions.length ?? -1;
}

async function newTopic(partitions: number): Promise<string> {
  const topic = uniqueId('kafka-int');
  await ensureTopics(admin, [{ topic, partitions, replicationFactor: -1, config: CHANGES_TOPIC_CONFIG }]);
  return topic;
}

async function connectedProducer(): Promise<Producer> {
  const producer = orderedProducer(kafka);
  await producer.connect();
  cleanup.push(() => producer.disconnect());
  return producer;
}

function track(consumer: Consumer): Consumer {
  cleanup.push(() => consumer.disconnect());
  return consumer;
}

describe('topics', () => {
  it('ensureTopics creates a compacted topic with the requested partitions, once', async () => {
    const topic = uniqueId('kafka-int-topic');
    const spec = [{ topic, partitions: 5, replicationFactor: -1, config: CHANGES_TOPIC_CONFIG }];
    expect(await ensureTopics(admin, spec)).toEqual([topic]);

    expect(await partitionCount(topic)).toBe(5);
    const cfg = await topicConfig(topic, ['cleanup.policy', 'min.compaction.lag.ms']);
    expect(cfg['cleanup.policy']).toBe('compact');
    expect(cfg['min.compaction.lag.ms']).toBe(CHANGES_TOPIC_CONFIG['min.compaction.lag.ms']);

    // Existing: left as it is (a different partition count is not applied, partitions never shrink).
    expect(await ensureTopics(admin, [{ ...spec[0]!, partitions: 2 }])).toEqual([]);
    expect(await partitionCount(topic)).toBe(5);
  });

  it('ensureChangeTopics creates the changes topic (compact) and its DLQ (delete); twice is fine', async () => {
    const cfg = testConfig({ CDC_TOPIC_PARTITIONS: '4' });
    expect((await ensureChangeTopics(kafka, cfg)).sort()).toEqual([cfg.topic, cfg.dlqTopic].sort());
    expect(await ensureChangeTopics(kafka, cfg)).toEqual([]);

    expect(await partitionCount(cfg.topic)).toBe(4);
    expect(await partitionCount(cfg.dlqTopic)).toBe(4);
    expect((await topicConfig(cfg.topic, ['cleanup.policy']))['cleanup.policy']).toBe('compact');
    expect((await topicConfig(cfg.dlqTopic, ['cleanup.policy']))['cleanup.policy']).toBe('delete');
  });

  it('ensureChangeTopics from two processes at once: both succeed, the topics exist once', async () => {
    const cfg = testConfig({ CDC_TOPIC_PARTITIONS: '2' });
    const other = createKafka(kafkaCfg, logger, uniqueId('kafka-int-other'));
    const results = await Promise.all([ensureChangeTopics(kafka, cfg), ensureChangeTopics(other, cfg)]);
    // Between them they created both topics (which one created which may vary).
    expect(results.flat().sort()).toEqual(expect.arrayContaining([cfg.dlqTopic, cfg.topic].sort()));
    expect(await partitionCount(cfg.topic)).toBe(2);
    expect(await partitionCount(cfg.dlqTopic)).toBe(2);
  });
});

describe('BatchPublisher', () => {
  it('2,000 messages from many concurrent publish() calls all arrive, byte-exact, in publish order per key', async () => {
    const topic = await newTopic(3);
    const producer = await connectedProducer();
    const publisher = new BatchPublisher(producer, topic, 250);

    const keys = Array.from({ length: 16 }, (_, i) =>
      Buffer.concat([Buffer.from(`k${i}`), Buffer.from([0xff, 0x00]), randomBytes(2)]),
    );
    const sent = new Map<string, string[]>(keys.map((k) => [k.toString('hex'), []]));
    const calls: Array<Promise<void>> = [];
    let n = 0;
    // 400 calls of 5 messages, none awaited before the next: they queue up behind the in-flight request.
    for (let call = 0; call < 400; call++) {
      const messages = Array.from({ length: 5 }, () => {
        const key = keys[(n * 7 + call) % keys.length] as Buffer;
        // Binary values of varying length, with the sequence number inside so equal values cannot hide a swap.
        const value = Buffer.concat([Buffer.from(`${n}:`), randomBytes(n % 64), Buffer.from([0x00, 0xff])]);
        sent.get(key.toString('hex'))?.push(value.toString('hex'));
        n++;
        return { key, value };
      });
      calls.push(publisher.publish(messages));
    }
    await Promise.all(calls);
    await publisher.flush();
    expect(n).toBe(2000);

    // Exactly 2,000 records in the topic: nothing lost, nothing doubled.
    const ends = await admin.fetchTopicOffsets(topic);
    expect(ends.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0)).toBe(2000);

    const received = new Map<string, string[]>();
    const partitionOf = new Map<string, Set<number>>();
    let count = 0;
    const consumer = track(kafka.consumer({ groupId: uniqueId('kafka-int-verify') }));
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ partition, message }) => {
        const k = (message.key as Buffer).toString('hex');
        received.set(k, [...(received.get(k) ?? []), (message.value as Buffer).toString('hex')]);
        partitionOf.set(k, (partitionOf.get(k) ?? new Set()).add(partition));
        count++;
      },
    });
    await waitFor('2,000 messages consumed', () => (count >= 2000 ? count : undefined), {
      timeoutMs: 60_000,
    });
    await consumer.disconnect();

    expect(count).toBe(2000);
    expect(received).toEqual(sent);
    for (const parts of partitionOf.values()) expect(parts.size).toBe(1); // one key, one partition
    expect(new Set([...partitionOf.values()].map((s) => [...s][0])).size).toBeGreaterThan(1); // keys spread out
  });
});

describe('BatchConsumer', () => {
  const produce = async (producer: Producer, topic: string, from: number, to: number) => {
    await producer.send({
      topic,
      acks: -1,
      messages: Array.from({ length: to - from }, (_, i) => ({
        key: `k${(from + i) % 3}`,
        value: `m${from + i}`,
      })),
    });
  };

  const committed = async (groupId: string, topic: string): Promise<string | undefined> => {
    const [t] = await admin.fetchOffsets({ groupId, topics: [topic] });
    return t?.partitions.find((p) => p.partition === 0)?.offset;
  };

  it('commits only after the handler resolves: a failed batch is delivered again, nothing is lost', async () => {
    const topic = await newTopic(1);
    const groupId = uniqueId('kafka-int-group');
    const producer = await connectedProducer();
    await produce(producer, topic, 0, 10);

    const deliveries: string[][] = [];
    const handled: string[] = [];
    const failed = new Set<string>();
    const committedAtFailure: Array<{ first: string; committed: string | undefined }> = [];
    const pauses: Array<{ partition: number; attempt: number }> = [];
    const consumer = new BatchConsumer(
      track(kafka.consumer({ groupId, retry: { initialRetryTime: 100, retries: 8 } })),
      { onPause: ({ partition, attempt }) => pauses.push({ partition, attempt }) },
    );
    await consumer.start(topic, async (batch: Batch) => {
      const offsets = batch.messages.map((m) => m.offset);
      deliveries.push(offsets);
      const first = offsets[0] as string;
      if (!failed.has(first)) {
        failed.add(first);
        // Nothing of this batch may be committed yet (asserted below: an expect here would only be retried).
        committedAtFailure.push({ first, committed: await committed(groupId, topic) });
        throw new Error(`fails on the first delivery of the batch at ${first}`);
      }
      for (const m of batch.messages) handled.push(m.value?.toString() ?? 'null');
    });

    await waitFor('committed offset 10', () => committed(groupId, topic), {
      accept: (o) => o === '10',
      timeoutMs: 45_000,
    });
    await consumer.stop();

    // Every failed batch came back starting at the same offset; every message was handled at least once.
    expect(failed.size).toBeGreaterThan(0);
    for (const f of committedAtFailure) {
      // Unset (-1) or at most the batch start: the failed batch itself was never committed.
      expect(BigInt(f.committed ?? '-1')).toBeLessThanOrEqual(BigInt(f.first));
    }
    for (const first of failed) {
      expect(deliveries.filter((d) => d[0] === first).length).toBeGreaterThanOrEqual(2);
    }
    expect(new Set(handled)).toEqual(new Set(Array.from({ length: 10 }, (_, i) => `m${i}`)));
    expect(await committed(groupId, topic)).toBe('10');
    // Each failure paused the partition (and was retried after the backoff) instead of crashing the consumer.
    expect(pauses.length).toBe(failed.size);
    expect(pauses.every((p) => p.partition === 0 && p.attempt === 1)).toBe(true);
  });

  it('stop() during a batch lets it finish and commits it before leaving the group', async () => {
    const topic = await newTopic(1);
    const groupId = uniqueId('kafka-int-group');
    const producer = await connectedProducer();
    await produce(producer, topic, 0, 5);

    let entered!: () => void;
    const inBatch = new Promise<void>((r) => (entered = r));
    const handled: string[] = [];
    const consumer = new BatchConsumer(track(kafka.consumer({ groupId })));
    await consumer.start(topic, async (batch) => {
      entered();
      await new Promise((r) => setTimeout(r, 1_500)); // a slow write still in flight when SIGTERM comes
      for (const m of batch.messages) handled.push(m.offset);
    });
    await inBatch;
    await consumer.stop();
    expect(handled).toEqual(['0', '1', '2', '3', '4']);
    expect(await committed(groupId, topic)).toBe('5');
  });

  it('a new consumer in the same group starts after the committed offset', async () => {
    const topic = await newTopic(1);
    const groupId = uniqueId('kafka-int-group');
    const producer = await connectedProducer();
    await produce(producer, topic, 0, 6);

    const firstRun: string[] = [];
    const first = new BatchConsumer(track(kafka.consumer({ groupId })));
    await first.start(topic, async (batch) => {
      for (const m of batch.messages) firstRun.push(m.offset);
    });
    await waitFor('committed offset 6', () => committed(groupId, topic), { accept: (o) => o === '6' });
    await first.stop();
    expect(firstRun).toEqual(['0', '1', '2', '3', '4', '5']);
    expect(await committed(groupId, topic)).toBe(String(Number(firstRun.at(-1)) + 1));

    await produce(producer, topic, 6, 10);
    const secondRun: Array<{ offset: string; value: string }> = [];
    const second = new BatchConsumer(track(kafka.consumer({ groupId })));
    await second.start(topic, async (batch) => {
      for (const m of batch.messages)
        secondRun.push({ offset: m.offset, value: m.value?.toString() ?? 'null' });
    });
    await waitFor('committed offset 10', () => committed(groupId, topic), { accept: (o) => o === '10' });
    await second.stop();
    // fromBeginning applies only to a group without offsets: nothing before offset 6 comes again.
    expect(secondRun).toEqual([6, 7, 8, 9].map((i) => ({ offset: String(i), value: `m${i}` })));
  });
});
