import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { type ChangeEvent, ChangeEventCodec } from '@cdc/contracts';
import { createDynamoClient } from '@cdc/dynamo';
import { createKafka } from '@cdc/kafka';
import { createLogger, Metrics } from '@cdc/observability';
import { itemToState, type ItemState } from '@cdc/parity';
import { createRedisClient } from '@cdc/redis';
import { bootPipeline, testConfig, waitFor } from '@cdc/testing';
import { VerifierModule, VerifierService } from '@cdc/verifier';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The vertical slice on real Redis, Kafka and DynamoDB Local: writes in Redis reach DynamoDB as versioned
 * items, deletes leave tombstones, a replayed stale event changes nothing, and the verifier reads the table's
 * stream back and finds parity.
 */
describe('pipeline: Redis -> capture -> Kafka -> applier -> DynamoDB -> verifier', () => {
  const config = testConfig({ REDIS_DB: '1' });
  const dynamo = createDynamoClient(config.dynamo);
  let app: INestApplicationContext;
  let metrics: Metrics;
  let redis: Redis;
  const k = (name: string) => `${config.sourceId}:${name}`;

  async function item(key: string): Promise<ItemState | undefined> {
    const { Item } = await dynamo.send(
      new GetItemCommand({ TableName: config.table, Key: { pk: { S: key } }, ConsistentRead: true }),
    );
    return Item ? itemToState(Item) : undefined;
  }

  /** Waits until the item reflects a write newer than `after` and returns it. */
  const itemNewerThan = (key: string, after: bigint, accept: (s: ItemState) => boolean = () => true) =>
    waitFor(`${key} newer than ${after}`, () => item(key), { accept: (s) => s.version > after && accept(s) });

  beforeAll(async () => {
    redis = createRedisClient(config.require('redis').redis, 'e2e-writer');
    await redis.connect();
    ({ app, metrics } = await bootPipeline(config, [ApplierModule, CaptureModule, VerifierModule]));
  });

  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
    dynamo.destroy();
  });

  it('replicates SET, HSET and DEL with increasing versions, and a stale replay changes nothing', async () => {
    // SET, then SET again: the version grows with each write.
    await redis.set(k('greeting'), 'hello');
    const v1 = await itemNewerThan(k('greeting'), 0n);
    expect(v1).toMatchObject({
      deleted: false,
      value: { type: 'string', data: Buffer.from('hello') },
      writer: config.writer,
    });

    await redis.set(k('greeting'), 'hello again', 'EX', 3600);
    const v2 = await itemNewerThan(k('greeting'), v1.version);
    expect(v2.value).toEqual({ type: 'string', data: Buffer.from('hello again') });
    expect(v2.expireAtSeconds).toBeGreaterThan(Date.now() / 1000 + 3500);

    // HSET twice: the item carries the whole hash.
    await redis.hset(k('user'), { name: 'Ada', lang: 'en' });
    const h1 = await itemNewerThan(k('user'), 0n);
    await redis.hset(k('user'), { lang: 'fr' });
    const h2 = await itemNewerThan(
      k('user'),
      h1.version,
      (s) => s.value?.type === 'hash' && s.value.fields.length === 2,
    );
    expect(
      Object.fromEntries(
        h2.value?.type === 'hash' ? h2.value.fields.map(([f, v]) => [f.toString(), v.toString()]) : [],
      ),
    ).toEqual({
      name: 'Ada',
      lang: 'fr',
    });

    // DEL: a versioned tombstone, not a missing item.
    await redis.del(k('greeting'));
    const tomb = await itemNewerThan(k('greeting'), v2.version);
    expect(tomb).toMatchObject({ deleted: true, value: null });
    expect(tomb.version).toBeGreaterThan(v2.version);

    // Replay the first (stale) event for the key straight onto the topic: the tombstone must stay.
    const stale: ChangeEvent = {
      sourceId: config.sourceId,
      db: 1,
      key: Buffer.from(k('greeting')),
      op: 'UPSERT',
      value: { type: 'string', data: Buffer.from('hello') },
      version: v1.version,
      expireAt: null,
      event: 'set',
      origin: 'replay',
      capturedAt: v1.capturedAt ?? Date.now(),
    };
    const producer = createKafka(config.require('kafka').kafka, createLogger('warn')).producer();
    await producer.connect();
    await producer.send({
      topic: config.topic,
      acks: -1,
      messages: [{ key: stale.key, value: new ChangeEventCodec().encode(stale) }],
    });
    await producer.disconnect();
    await waitFor(
      'the stale event to be consumed',
      () => Metrics.total(metrics.applierEvents, { outcome: 'stale' }),
      {
        accept: (n) => n >= 1,
      },
    );
    expect(await item(k('greeting'))).toMatchObject({ deleted: true, version: tomb.version });
  });

  it('the verifier reads the stream back and reports parity for those keys', async () => {
    const verifier = app.get(VerifierService);
    for (const key of [k('greeting'), k('user')]) {
      const verdict = await waitFor(
        `a match verdict for ${key}`,
        () => verifier.ledger.get(Buffer.from(key)),
        {
          accept: (v) => v.verdict === 'match',
        },
      );
      expect(verdict.verdict).toBe('match');
    }
    expect(await Metrics.total(metrics.verifierRecords, { class: 'match' })).toBeGreaterThanOrEqual(2);
  });
});
