import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { ApplierModule, ApplierService } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { type CdcConfig, toEnv } from '@cdc/config';
import { type ChangeEvent, ChangeEventCodec } from '@cdc/contracts';
import { createKafka } from '@cdc/kafka';
import { createDynamoClient, describeTable } from '@cdc/dynamo';
import { createLogger, HealthRegistry, Metrics } from '@cdc/observability';
import { createRedisClient } from '@cdc/redis';
import {
  appEnv,
  bootPipeline,
  expectReplicated,
  findFreePort,
  type ItemHistory,
  readItem,
  startDynamoDbLocal,
  startFaultProxy,
  startRedisServer,
  startWriteLoad,
  testConfig,
  type TestRedisServer,
  uniqueId,
  versionRegressions,
  waitFor,
  watchItemHistory,
} from '@cdc/testing';
import { DeleteTableCommand } from '@aws-sdk/client-dynamodb';
import type Redis from 'ioredis';
import { ConfigResourceTypes, ConfigSource, type IHeaders, type Kafka } from 'kafkajs';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');

interface DlqRecord {
  readonly value: Buffer | null;
  readonly headers: IHeaders;
}

/**
 * Issue 4, part 7: the applier under real faults (its process killed, DynamoDB gone for 30 s, DynamoDB throttling
 * and failing a third of requests, poison on the topic, a DLQ that refuses writes). In each: nothing lost, no
 * item's version ever decreases (read back from the table's stream), and the final table equals Redis. The
 * replay-while-live case lives with the replay command's tests. Issue 13: the table deleted under the applier stops it
 * (the failure policy's "stop"), and poison still goes to the DLQ.
 */
describe('applier faults on real engines', () => {
  let redisServer: TestRedisServer;
  const cleanups: Array<() => unknown> = [];

  beforeAll(async () => {
    redisServer = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
  });
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });
  afterAll(async () => {
    await redisServer?.stop();
  });

  /** A config on the private Redis; each case its own DB there, and its own source (topic, table, group). */
  const configFor = (db: number, overrides: Record<string, string> = {}) =>
    testConfig({ REDIS_URL: redisServer.url, REDIS_DB: String(db), ...overrides });

  async function redisFor(config: CdcConfig): Promise<Redis> {
    const redis = createRedisClient(config.require('redis').redis, 'fault-writer');
    await redis.connect();
    cleanups.push(() => redis.disconnect());
    return redis;
  }

  async function boot(config: CdcConfig, modules: Parameters<typeof bootPipeline>[1]) {
    const booted = await bootPipeline(config, modules);
    cleanups.push(() => booted.app.close());
    return booted;
  }

  async function history(config: CdcConfig): Promise<ItemHistory> {
    const h = await watchItemHistory(config);
    cleanups.push(() => h.stop());
    return h;
  }

  /** Every record of the config's DLQ topic from its start, by key, filled in as they arrive. */
  async function readDlq(kafka: Kafka, config: CdcConfig): Promise<Map<string, DlqRecord>> {
    const dlq = new Map<string, DlqRecord>();
    const consumer = kafka.consumer({ groupId: uniqueId('dlq-reader') });
    await consumer.connect();
    cleanups.push(() => consumer.disconnect());
    await consumer.subscribe({ topic: config.dlqTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ message }) => {
        dlq.set(message.key?.toString() ?? '', { value: message.value, headers: message.headers ?? {} });
        return Promise.resolve();
      },
    });
    return dlq;
  }

  const keysOf = (config: CdcConfig, n: number) =>
    Array.from({ length: n }, (_, i) => `${config.sourceId}:k${i}`);

  /**
   * The three outcome assertions: every key equals Redis (nothing lost), the stream has shown each key's final
   * image, and no key's version ever went down or repeated in the table's history.
   */
  async function expectNothingLostNoRegression(
    config: CdcConfig,
    redis: Redis,
    keys: readonly string[],
    h: ItemHistory,
  ): Promise<void> {
    const finals = await expectReplicated(config, redis, keys, { timeoutMs: 180_000 });
    const expected = new Map<string, bigint>();
    keys.forEach((k, i) => {
      const item = finals[i];
      if (item) expected.set(k, item.version);
    });
    expect(expected.size).toBeGreaterThan(keys.length / 2);
    await waitFor(
      "the table's stream to show every key's final image",
      () => ([...expected].every(([k, v]) => h.byKey.get(k)?.at(-1)?.version === v) ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 200 },
    );
    expect(versionRegressions(h)).toEqual([]);
  }

  it('kill -9 of the applier process mid-batch, twice, then restart: nothing lost, nothing goes back', async () => {
    const main = join(ROOT, 'dist', 'apps', 'applier', 'main.js');
    expect(existsSync(main), `${main} is missing: run \`npm run build\` first`).toBe(true);
    // One write at a time keeps the applier busy behind the load, so a kill lands inside a batch.
    // A private DynamoDB Local: fresh (fast), and no other suite's load on it.
    const ddb = await startDynamoDbLocal();
    cleanups.push(() => ddb.stop());
    const config = configFor(0, { DYNAMODB_ENDPOINT: ddb.endpoint });
    const redis = await redisFor(config);
    await boot(config, [CaptureModule]);
    const env = appEnv(config, { CDC_APPLIER_CONCURRENCY: 2, LOG_LEVEL: 'warn' });
    const applier = async () => {
      const port = await findFreePort();
      const child = spawn(process.execPath, [main], {
        env: { ...env, ...toEnv({ HTTP_PORT: port }) },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr = (stderr + d.toString()).slice(-4_000)));
      cleanups.push(() => child.exitCode === null && child.kill('SIGKILL'));
      const outcomes = async (): Promise<Record<string, number>> => {
        if (child.exitCode !== null) throw new Error(`applier exited ${child.exitCode}: ${stderr}`);
        return applierOutcomes(await (await fetch(`http://127.0.0.1:${port}/metrics`)).text());
      };
      return { child, outcomes };
    };

    // 150 keys, two writes at a time: every batch has up to 50 writes to make per partition (more events
    // coalesce per key), so the applier is nearly always inside a batch, and still catches up quickly.
    const keys = keysOf(config, 150);
    let current = await applier();
    const h = await history(config); // the applier creates the table
    const load = startWriteLoad(redis, keys, { pipeline: 10, pauseMs: 20 });
    let appliedUncommitted = 0;
    for (let kill = 0; kill < 2; kill++) {
      // A batch just finished while more are queued; half a mean batch later the next one is half written.
      let seen = -1;
      const at = await waitFor(
        'the applier to be applying a backlog',
        async () => {
          const m = await current.outcomes();
          const applied = m.applied ?? 0;
          const moving = seen >= 0 && applied > seen;
          seen = applied;
          return moving && applied > 50 ? m : undefined;
        },
        { timeoutMs: 120_000, intervalMs: 50 },
      );
      await new Promise((r) =>
        setTimeout(r, (1_000 * (at.batch_seconds_sum ?? 0)) / (2 * (at.batch_count ?? 1))),
      );
      current.child.kill('SIGKILL');
      await new Promise((r) => current.child.once('exit', r));
      appliedUncommitted += await appliedBeyondCommit(config);
      current = await applier();
    }
    const sent = await load.stop();
    expect(sent).toBeGreaterThan(keys.length);
    await expectNothingLostNoRegression(config, redis, keys, h);
    // Proof that a kill landed mid-batch: the table held writes of events the group had not committed yet
    // (at-least-once: those events were delivered again after the restart and were no-ops or superseded).
    expect(appliedUncommitted).toBeGreaterThan(0);
    current.child.kill('SIGTERM');
    await new Promise((r) => current.child.once('exit', r));
  }, 400_000);

  it('DynamoDB down for 30 s under load, then back: the applier catches up, nothing lost', async () => {
    const ddb = await startDynamoDbLocal();
    cleanups.push(() => ddb.stop());
    const config = configFor(1, { DYNAMODB_ENDPOINT: ddb.endpoint });
    const redis = await redisFor(config);
    const { metrics } = await boot(config, [ApplierModule, CaptureModule]);
    const h = await history(config);
    const keys = keysOf(config, 100);
    const load = startWriteLoad(redis, keys, { pipeline: 10, pauseMs: 20 });
    await waitFor(
      'writes applied before the outage',
      () => Metrics.total(metrics.applierEvents, { outcome: 'applied' }),
      {
        accept: (n) => n > 50,
        timeoutMs: 60_000,
      },
    );
    await ddb.kill('SIGKILL');
    const opsAtOutage = load.ops;
    await new Promise((r) => setTimeout(r, 30_000)); // the outage itself, not a wait for a condition
    // Writes stop before DynamoDB is back: every key's last write was made during the outage, so an event the
    // applier skipped while DynamoDB was gone would show as a stale item, not be hidden by a later write.
    const sent = await load.stop();
    expect(sent).toBeGreaterThan(opsAtOutage); // Redis kept taking writes during the outage
    const appliedBefore = await Metrics.total(metrics.applierEvents, { outcome: 'applied' });
    await ddb.start();
    await expectNothingLostNoRegression(config, redis, keys, h);
    expect(await Metrics.total(metrics.applierEvents, { outcome: 'applied' })).toBeGreaterThan(appliedBefore);
  }, 300_000);

  it('a third of DynamoDB requests throttled or failing with 500: nothing lost, nothing goes back', async () => {
    const config = configFor(2);
    const proxy = await startFaultProxy({ target: config.dynamo.endpoint as string, rate: 1 / 3, seed: 4 });
    cleanups.push(() => proxy.close());
    // The applier alone talks to DynamoDB through the proxy; the test reads the table directly.
    const viaProxy = configFor(2, { CDC_SOURCE_ID: config.sourceId, DYNAMODB_ENDPOINT: proxy.endpoint });
    const redis = await redisFor(config);
    await boot(viaProxy, [ApplierModule, CaptureModule]);
    const h = await history(config);
    const keys = keysOf(config, 30);
    const load = startWriteLoad(redis, keys, { pipeline: 5, pauseMs: 50 });
    await waitFor('PutItem faults injected under load', () => proxy.counts.injectedByOperation.PutItem, {
      accept: (n) => n >= 10,
      timeoutMs: 120_000,
    });
    await load.stop();
    await expectNothingLostNoRegression(config, redis, keys, h);
    for (const kind of ['throttling', 'provisioned-throughput', 'internal-error'] as const)
      expect(proxy.counts.injected[kind], kind).toBeGreaterThan(0);
    expect(proxy.counts.forwarded).toBeGreaterThan(0);
  }, 300_000);

  it('poison on the topic goes to the DLQ with its original bytes and error headers; the partition continues', async () => {
    const config = configFor(3);
    await boot(config, [ApplierModule]);
    const codec = new ChangeEventCodec();
    const event = (name: string, version: bigint, data: string) => stringEvent(config, name, version, data);
    const garbage = Buffer.from('definitely not an Avro change event \x00\xff');
    const unknownSchema = codec.encode(event('unknown', 5n, 'x'));
    unknownSchema.fill(0xab, 2, 10); // a fingerprint no known schema has
    const headers = { 'x-test-origin': 'poison-test' };
    const messages = [
      { key: `${config.sourceId}:a`, value: codec.encode(event('a', 10n, 'before the poison')) },
      { key: `${config.sourceId}:garbage`, value: garbage, headers },
      { key: `${config.sourceId}:unknown`, value: unknownSchema, headers },
      { key: `${config.sourceId}:b`, value: codec.encode(event('b', 11n, 'after the poison')) },
    ];
    const kafka = createKafka(config.require('kafka').kafka, createLogger('warn'));
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    // One partition for all four, in this order: the valid event after the poison is on the poisoned partition.
    const [sent] = await producer.send({
      topic: config.topic,
      acks: -1,
      messages: messages.map((m) => ({ ...m, partition: 0 })),
    });
    const base = BigInt(sent?.baseOffset ?? '-1');
    expect(base).toBeGreaterThanOrEqual(0n);

    for (const [name, data] of [
      ['a', 'before the poison'],
      ['b', 'after the poison'],
    ] as const) {
      const item = await waitFor(`${name} applied`, () => readItem(config, `${config.sourceId}:${name}`), {
        timeoutMs: 60_000,
      });
      expect(item.value).toEqual({ type: 'string', data: Buffer.from(data) });
    }

    const dlq = await readDlq(kafka, config);
    await waitFor('both poison records on the DLQ', () => (dlq.size >= 2 ? true : undefined), {
      timeoutMs: 60_000,
    });
    const text = (h: IHeaders, name: string) => h[name]?.toString();
    for (const [i, code] of [
      [1, 'BAD_MAGIC'],
      [2, 'UNKNOWN_SCHEMA'],
    ] as const) {
      const original = messages[i] as (typeof messages)[number];
      const record = dlq.get(original.key);
      expect(record, `DLQ record for ${original.key}`).toBeDefined();
      expect(record?.value?.equals(original.value)).toBe(true);
      const h = record?.headers ?? {};
      expect(text(h, 'cdc-error-code')).toBe(code);
      expect(text(h, 'cdc-error-reason')?.length).toBeGreaterThan(0);
      expect(text(h, 'cdc-source-partition')).toBe('0');
      expect(text(h, 'cdc-source-offset')).toBe(String(base + BigInt(i)));
      expect(text(h, 'x-test-origin')).toBe('poison-test'); // the original headers travel with it
    }
    expect(text(dlq.get(`${config.sourceId}:unknown`)?.headers ?? {}, 'cdc-error-reason')).toContain(
      'abababababababab',
    );
    expect(dlq.size).toBe(2); // the valid events are not dead-lettered

    // And the partition keeps going after the poison batch was committed.
    await producer.send({
      topic: config.topic,
      acks: -1,
      messages: [
        { key: `${config.sourceId}:c`, value: codec.encode(event('c', 12n, 'later')), partition: 0 },
      ],
    });
    const later = await waitFor('c applied', () => readItem(config, `${config.sourceId}:c`), {
      timeoutMs: 60_000,
    });
    expect(later.version).toBe(12n);
    expect(await readItem(config, `${config.sourceId}:garbage`)).toBeUndefined();
    expect(await readItem(config, `${config.sourceId}:unknown`)).toBeUndefined();
  });

  it('a DLQ that cannot be written stops the partition: nothing committed past the poison until it can', async () => {
    const config = configFor(4);
    const { app } = await boot(config, [ApplierModule]); // creates the topic and its DLQ
    const kafka = createKafka(config.require('kafka').kafka, createLogger('warn'));
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    // The DLQ refuses every record (MESSAGE_TOO_LARGE, not retriable) until the limit is lifted again.
    // AlterConfigs replaces the topic's whole override set, so the DLQ's own overrides are passed along.
    const [described] = (
      await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{ type: ConfigResourceTypes.TOPIC, name: config.dlqTopic }],
      })
    ).resources;
    const overrides = (described?.configEntries ?? [])
      .filter((e) => e.configSource === ConfigSource.TOPIC_CONFIG && e.configName !== 'max.message.bytes')
      .map((e) => ({ name: e.configName, value: e.configValue }));
    expect(overrides.map((o) => o.name)).toContain('cleanup.policy');
    const dlqLimit = (value: string | undefined) =>
      admin.alterConfigs({
        validateOnly: false,
        resources: [
          {
            type: ConfigResourceTypes.TOPIC,
            name: config.dlqTopic,
            configEntries: value ? [...overrides, { name: 'max.message.bytes', value }] : overrides,
          },
        ],
      });
    await dlqLimit('1');
    const codec = new ChangeEventCodec();
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const poisonKey = `${config.sourceId}:garbage`;
    const poison = Buffer.from('not a change event');
    const [sent] = await producer.send({
      topic: config.topic,
      acks: -1,
      messages: [
        { key: poisonKey, value: poison, partition: 0 },
        {
          key: `${config.sourceId}:x`,
          value: codec.encode(stringEvent(config, 'x', 20n, 'x')),
          partition: 0,
        },
      ],
    });
    const poisonOffset = BigInt(sent?.baseOffset ?? '-1');
    expect(poisonOffset).toBeGreaterThanOrEqual(0n);

    // The batch holding the poison fails on the DLQ write: its partition is paused, to be retried, not skipped.
    const paused = await waitFor(
      'partition 0 paused by the DLQ failure',
      () => app.get(ApplierService).stats.paused.find((p) => p.partition.endsWith(':0')),
      { timeoutMs: 90_000 },
    );
    expect(paused.error.length).toBeGreaterThan(0);
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId: config.applierGroup, topics: [config.topic] });
      return BigInt(t?.partitions.find((p) => p.partition === 0)?.offset ?? '-1');
    };
    expect(await committed()).toBeLessThanOrEqual(poisonOffset);
    const dlq = await readDlq(kafka, config);

    await dlqLimit(undefined); // back to the broker's default
    const record = await waitFor('the poison on the DLQ once it can be written', () => dlq.get(poisonKey), {
      timeoutMs: 90_000,
    });
    expect(record.value?.equals(poison)).toBe(true);
    expect(record.headers['cdc-source-offset']?.toString()).toBe(String(poisonOffset));
    await waitFor('the partition to move past the poison', committed, {
      accept: (o) => o > poisonOffset + 1n,
      timeoutMs: 90_000,
    });
    expect(dlq.size).toBe(1);
  }, 240_000);

  it('the table deleted under a running applier: it stops naming the table and the fix, nothing committed past the failure', async () => {
    const config = configFor(5);
    const { app } = await boot(config, [ApplierModule]); // creates the table, the topic and its DLQ
    const applier = app.get(ApplierService);
    const codec = new ChangeEventCodec();
    const kafka = createKafka(config.require('kafka').kafka, createLogger('warn'));
    const admin = kafka.admin();
    await admin.connect();
    cleanups.push(() => admin.disconnect());
    const producer = kafka.producer();
    await producer.connect();
    cleanups.push(() => producer.disconnect());
    const send = async (name: string, version: bigint) => {
      const [sent] = await producer.send({
        topic: config.topic,
        acks: -1,
        messages: [
          {
            key: `${config.sourceId}:${name}`,
            value: codec.encode(stringEvent(config, name, version, name)),
            partition: 0,
          },
        ],
      });
      return BigInt(sent?.baseOffset ?? '-1');
    };
    const committed = async () => {
      const [t] = await admin.fetchOffsets({ groupId: config.applierGroup, topics: [config.topic] });
      return BigInt(t?.partitions.find((p) => p.partition === 0)?.offset ?? '-1');
    };
    const before = await send('before', 1n);
    await waitFor('the first event applied', () => readItem(config, `${config.sourceId}:before`), {
      timeoutMs: 60_000,
    });
    await waitFor('its offset committed', committed, { accept: (o) => o > before, timeoutMs: 60_000 });

    const dynamo = createDynamoClient(config.dynamo);
    cleanups.push(() => dynamo.destroy());
    await dynamo.send(new DeleteTableCommand({ TableName: config.table }));
    const failed = await send('after', 2n);

    const stopped = await waitFor('the applier to stop', () => applier.stats.stopped, { timeoutMs: 90_000 });
    expect(stopped.partition).toBe(`${config.topic}:0`);
    expect(stopped.offset).toBe(String(failed));
    expect(stopped.error).toContain(`DynamoDB table "${config.table}" does not exist`);
    expect(stopped.error).toContain('Fix: create table');
    expect(stopped.error).toContain('CDC_CREATE_TABLE=true');
    const [, probe] =
      app
        .get(HealthRegistry)
        .entries()
        .find(([name]) => name === 'applier') ?? [];
    expect((await probe?.())?.up).toBe(false);
    // Stopped, not looping: no retry is scheduled and the failed event's offset stays uncommitted.
    await new Promise((r) => setTimeout(r, 3_000));
    expect(applier.stats.paused).toEqual([]);
    expect(await committed()).toBe(failed);
    expect(await describeTable(dynamo, config.table)).toBeNull(); // nothing recreated it behind the operator
  }, 180_000);
});

/**
 * With the applier dead: how many events past the group's committed offsets (up to 200 per partition) already
 * have their version (or a newer one) in the table. Events of one key sit in one partition in version order,
 * so such an item can only have come from an uncommitted event: the applier wrote it and died before the commit.
 */
async function appliedBeyondCommit(config: CdcConfig): Promise<number> {
  const kafka = createKafka(config.require('kafka').kafka, createLogger('warn'));
  const admin = kafka.admin();
  await admin.connect();
  const [committed] = await admin.fetchOffsets({ groupId: config.applierGroup, topics: [config.topic] });
  const ends = await admin.fetchTopicOffsets(config.topic);
  await admin.disconnect();
  const from = new Map<number, bigint>();
  const wanted = new Map<number, bigint>(); // partition -> last offset to read
  for (const e of ends) {
    // No commit yet: the applier started that partition from the beginning (low watermark).
    const offset = BigInt(committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1');
    const start = offset >= 0n ? offset : BigInt(e.low);
    const high = BigInt(e.high);
    from.set(e.partition, start);
    if (start < high) wanted.set(e.partition, start + 200n < high ? start + 199n : high - 1n);
  }
  if (wanted.size === 0) return 0;

  const codec = new ChangeEventCodec();
  const uncommitted: ChangeEvent[] = [];
  const consumer = kafka.consumer({ groupId: uniqueId('uncommitted-reader') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: config.topic });
    const done = new Set<number>();
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        const last = wanted.get(partition);
        if (last === undefined || BigInt(message.offset) > last) return Promise.resolve();
        if (message.value) uncommitted.push(codec.decode(message.value));
        if (BigInt(message.offset) === last) done.add(partition);
        return Promise.resolve();
      },
    });
    for (const [partition] of wanted)
      consumer.seek({ topic: config.topic, partition, offset: String(from.get(partition)) });
    await waitFor('the uncommitted events', () => (done.size === wanted.size ? true : undefined), {
      timeoutMs: 60_000,
    });
  } finally {
    await consumer.disconnect();
  }
  let applied = 0;
  for (const event of uncommitted) {
    const item = await readItem(config, event.key);
    if (item && item.version >= event.version) applied++;
  }
  return applied;
}

/** A string UPSERT event for `<source>:<name>`, as capture would write it. */
function stringEvent(config: CdcConfig, name: string, version: bigint, data: string): ChangeEvent {
  return {
    sourceId: config.sourceId,
    db: config.require('redis').redis.db,
    key: Buffer.from(`${config.sourceId}:${name}`),
    op: 'UPSERT',
    value: { type: 'string', data: Buffer.from(data) },
    version,
    expireAt: null,
    event: 'set',
    origin: 'live',
    capturedAt: Date.now(),
  };
}

/**
 * From a Prometheus text exposition: cdc_applier_events_total by outcome (applied, stale...), and the batch
 * duration histogram's batch_seconds_sum and batch_count.
 */
function applierOutcomes(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const m of text.matchAll(/^cdc_applier_events_total\{outcome="([a-z_]+)"\} (\S+)$/gm))
    out[m[1] as string] = Number(m[2]);
  for (const m of text.matchAll(/^cdc_applier_(batch_seconds_sum|batch_seconds_count) (\S+)$/gm))
    out[m[1] === 'batch_seconds_sum' ? 'batch_seconds_sum' : 'batch_count'] = Number(m[2]);
  return out;
}
