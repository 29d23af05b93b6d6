import { UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { createDynamoClient } from '@cdc/dynamo';
import { createKafka, keyPartition, orderedProducer } from '@cdc/kafka';
import { createLogger, Metrics } from '@cdc/observability';
import { controlKeys, createRedisClient, type StreamParitySnapshot } from '@cdc/redis';
import {
  bootPipeline,
  engines,
  expectReplicated,
  findFreePort,
  spawnBuilt,
  testConfig,
  uniqueId,
  waitFor,
} from '@cdc/testing';
import { MISMATCH_CLASSES, VerifierModule, VerifierService } from '@cdc/verifier';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, describe, expect, it } from 'vitest';

/**
 * Issue 13 part 3: a mismatch is confirmed only when nothing newer is in flight. The applier is stopped while
 * capture keeps writing, so the verifier reads stream records far behind Redis (the catch-up after a broker
 * restart, with the lag far over the grace): those keys must stay in flight, never be confirmed, and converge
 * to matching once the applier resumes. A real mismatch (an item changed behind the pipeline's back) is still
 * confirmed once the pipeline has caught up.
 */
describe('stream check: lag-aware recheck', { timeout: 240_000 }, () => {
  const config = testConfig({ REDIS_DB: '12', CDC_VERIFIER_GRACE_MS: '300' });
  const apps: INestApplicationContext[] = [];
  const redis = createRedisClient(config.require('redis').redis, 'verifier-lag-e2e');
  const dynamo = createDynamoClient(config.dynamo);
  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    redis.disconnect();
    dynamo.destroy();
  });
  const boot = async (modules: Parameters<typeof bootPipeline>[1]) => {
    const booted = await bootPipeline(config, modules);
    apps.push(booted.app);
    return booted;
  };

  it('keys behind a stopped applier stay in flight, converge when it resumes; a real mismatch is confirmed', async () => {
    await redis.connect();
    const keys = Array.from({ length: 30 }, (_, i) => `${config.sourceId}:lag:${i}`);
    await boot([CaptureModule]);
    const first = await boot([ApplierModule]);
    for (const key of keys) await redis.set(key, 'a');
    await expectReplicated(config, redis, keys);

    // The applier stops; capture goes on producing newer versions of every key.
    await first.app.close();
    apps.splice(apps.indexOf(first.app), 1);
    for (const key of keys) await redis.set(key, 'b');

    // The verifier starts at the stream's horizon: every record it reads ('a') is behind Redis ('b').
    const { app, metrics } = await boot([VerifierModule]);
    const verifier = app.get(VerifierService);
    await waitFor('every old record read and rechecked', () =>
      verifier.stats.seen >= keys.length && verifier.stats.rechecking >= keys.length ? true : undefined,
    );
    // Many grace periods later (the old rule confirmed after one), still in flight, nothing confirmed.
    await new Promise((r) => setTimeout(r, 4_000));
    expect(verifier.stats.rechecking).toBeGreaterThanOrEqual(keys.length);
    for (const c of MISMATCH_CLASSES)
      expect(await Metrics.total(metrics.verifierRecords, { class: c })).toBe(0);
    expect(verifier.ledger.summary().byVerdict).toEqual({});
    // What `cdc status` reads: those records are reported in flight, none confirmed.
    const published = await waitFor(
      'the window published with the records in flight',
      async () =>
        JSON.parse((await redis.get(controlKeys.streamParity(config.sourceId, config.table))) ?? 'null') as
          StreamParitySnapshot | null | undefined,
      { accept: (p) => p !== null && (p.rechecking ?? 0) >= keys.length },
    );
    for (const c of MISMATCH_CLASSES) expect(published?.classes[c] ?? 0).toBe(0);

    // The applier resumes and catches up: every key converges to matching, none was ever confirmed.
    await boot([ApplierModule]);
    await waitFor(
      'every key matching at its newer version',
      () => (keys.every((k) => verifier.ledger.get(Buffer.from(k))?.verdict === 'match') ? true : undefined),
      { timeoutMs: 120_000, intervalMs: 200 },
    );
    await waitFor('the old records settled', () => (verifier.stats.rechecking === 0 ? true : undefined));
    for (const c of MISMATCH_CLASSES)
      expect(await Metrics.total(metrics.verifierRecords, { class: c })).toBe(0);

    // Caught up now: a value changed in DynamoDB behind the pipeline's back is a real mismatch, confirmed.
    const tampered = keys[7] as string;
    await dynamo.send(
      new UpdateItemCommand({
        TableName: config.table,
        Key: { pk: { S: tampered } },
        UpdateExpression: 'SET #val = :val',
        ExpressionAttributeNames: { '#val': 'val' },
        ExpressionAttributeValues: { ':val': { S: 'tampered' } },
      }),
    );
    const verdict = await waitFor(
      'the tampered item confirmed',
      () => verifier.ledger.get(Buffer.from(tampered)),
      { accept: (v) => v.verdict !== 'match', timeoutMs: 60_000 },
    );
    expect(verdict.verdict).toBe('value');
    expect(await Metrics.total(metrics.verifierRecords, { class: 'value' })).toBe(1);
  });

  it("judges each key on the partition capture's producer really puts it in", async () => {
    const kafka = createKafka(config.require('kafka').kafka, createLogger('warn'));
    const admin = kafka.admin();
    const producer = orderedProducer(kafka);
    const topic = `${config.sourceId}.partitions`;
    try {
      await admin.connect();
      await admin.createTopics({ topics: [{ topic, numPartitions: 7 }], waitForLeaders: true });
      await producer.connect();
      const keys = Array.from({ length: 40 }, (_, i) => Buffer.from(`${config.sourceId}:p:${i}`));
      const sent = await Promise.all(
        keys.map((key) => producer.send({ topic, messages: [{ key, value: 'x' }] })),
      );
      const actual = sent.map(([meta]) => meta?.partition);
      expect(new Set(actual).size).toBeGreaterThan(1);
      expect(keys.map((key) => keyPartition(key, 7))).toEqual(actual);
    } finally {
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('Kafka unreachable: the verifier starts at once, warns once naming Kafka, and SIGTERM still ends it', async () => {
    const e = engines();
    const http = await findFreePort();
    const kafka = `127.0.0.1:${await findFreePort()}`; // nothing listens there
    const p = spawnBuilt('verifier', [], {
      REDIS_URL: e.redisUrl,
      REDIS_DB: '12',
      KAFKA_BROKERS: kafka,
      DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
      AWS_REGION: 'us-east-1',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      CDC_SOURCE_ID: uniqueId('vkafka'),
      HTTP_PORT: String(http),
    });
    // Kafka is not one of its start-up checks: /health is up while kafkajs still retries (~25 s per connect).
    const health = await waitFor(
      '/health 200 with Kafka away',
      async () => (await fetch(`http://127.0.0.1:${http}/health`).catch(() => undefined))?.status,
      { accept: (s) => s === 200, timeoutMs: 15_000, intervalMs: 100 },
    );
    expect(health, p.output()).toBe(200);
    const warning = `Kafka at ${kafka} not reachable`;
    await waitFor('the warning naming Kafka', () => (p.output().includes(warning) ? true : undefined), {
      timeoutMs: 90_000,
      intervalMs: 200,
    });
    // Signalled while the next connect attempt is retrying: the shutdown does not wait for it.
    await new Promise((r) => setTimeout(r, 3_000));
    p.signal('SIGTERM');
    const { code, ms } = await p.exit;
    expect(code, p.output()).toBe(0);
    expect(ms).toBeLessThan(10_000);
    expect(p.output().split(warning).length - 1).toBe(1); // one warning, not one per attempt
  });
});
