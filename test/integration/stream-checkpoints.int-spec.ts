import { PutItemCommand } from '@aws-sdk/client-dynamodb';
import type { ChangeEvent } from '@cdc/contracts';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import {
  createDynamoClient,
  createStreamsClient,
  ensureTable,
  type ShardLeases,
  StreamReader,
  type StreamRecord,
} from '@cdc/dynamo';
import { eventToItem } from '@cdc/parity';
import { controlKeys, createRedisClient, type StreamParitySnapshot } from '@cdc/redis';
import { bootPipeline, testConfig, uniqueId, waitFor } from '@cdc/testing';
import { RedisShardLeases, RedisStreamCheckpoints, VerifierModule, VerifierService } from '@cdc/verifier';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The stream reader's persisted state on real Redis and DynamoDB Local: checkpoints in Redis survive a restart
 * (a new reader resumes after the last one, nothing before it comes again), and shard leases keep one reader
 * per shard across instances, with takeover when the owner dies without releasing. The verifier itself, restarted,
 * checks only what came after its checkpoint, and publishes its parity window for `cdc status`.
 */

const config = testConfig({ REDIS_DB: '11' });
/** DynamoDB Local shared with other suites can be slow: a generous bound per test, never a speed check. */
const GENEROUS_MS = 180_000;
const dynamo = createDynamoClient(config.dynamo);
const clients: DynamoDBStreamsClient[] = [];
let redis: Redis;

beforeAll(async () => {
  redis = createRedisClient(config.require('redis').redis, 'int-stream-state');
  await redis.connect();
});

const dataKeys: string[] = [];

afterAll(async () => {
  if (dataKeys.length > 0) await redis?.del(...dataKeys); // DB 11 keeps no data keys between runs
  redis?.disconnect();
  dynamo.destroy();
  for (const c of clients) c.destroy();
});

interface Interval {
  readonly shardId: string;
  readonly start: number;
  end: number;
}

/** A streams client per reader that records when it called GetRecords on which shard (observes, never alters). */
function observedStreams(): { client: DynamoDBStreamsClient; reads: Interval[] } {
  const client = createStreamsClient(config.dynamo);
  clients.push(client);
  const shardOf = new Map<string, string>();
  const reads: Interval[] = [];
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const input = args.input as { ShardId?: string; ShardIterator?: string };
      const interval =
        context.commandName === 'GetRecordsCommand' && input.ShardIterator
          ? { shardId: shardOf.get(input.ShardIterator) ?? '?', start: Date.now(), end: Infinity }
          : undefined;
      if (interval) reads.push(interval);
      try {
        const result = await next(args);
        const out = result.output as { ShardIterator?: string; NextShardIterator?: string };
        if (input.ShardId && out.ShardIterator) shardOf.set(out.ShardIterator, input.ShardId);
        if (interval && out.NextShardIterator) shardOf.set(out.NextShardIterator, interval.shardId);
        return result;
      } finally {
        if (interval) interval.end = Date.now();
      }
    },
    { step: 'initialize', name: 'observeReads' },
  );
  return { client, reads };
}

function reader(
  client: DynamoDBStreamsClient,
  streamArn: string,
  table: string,
  into: string[],
  errors: Error[],
  leases?: ShardLeases,
): StreamReader {
  return new StreamReader(client, streamArn, {
    startAt: 'TRIM_HORIZON',
    pollIntervalMs: 50,
    discoveryIntervalMs: 200,
    checkpoints: new RedisStreamCheckpoints(redis, config.sourceId, table),
    ...(leases ? { leases } : {}),
    onRecords: async (records: StreamRecord[]) => {
      for (const r of records) into.push(r.dynamodb?.Keys?.pk?.S ?? '?');
    },
    onError: (err) => errors.push(err),
  });
}

async function put(table: string, pks: string[]): Promise<void> {
  for (const pk of pks)
    await dynamo.send(new PutItemCommand({ TableName: table, Item: { pk: { S: pk }, ver: { N: '1' } } }));
}

const until = (into: string[], pk: string) =>
  waitFor(`stream record for ${pk}`, () => (into.includes(pk) ? true : undefined), { timeoutMs: 30_000 });

const pks = (table: string, tag: string, n: number) =>
  Array.from({ length: n }, (_, i) => `${table}:${tag}${i}`);

describe('persisted stream checkpoints', () => {
  it(
    'a restarted reader resumes after the last checkpoint kept in Redis; checkpoints never move back',
    async () => {
      const { table, streamArn } = await ensureTable(dynamo, `cdc_int_ck_${uniqueId('t')}`, true);
      const first: string[] = [];
      const errors: Error[] = [];
      const { client } = observedStreams();
      const a = reader(client, streamArn as string, table, first, errors);
      const before = pks(table, 'a', 10);
      a.start();
      try {
        await put(table, before);
        await until(first, before.at(-1) as string);
      } finally {
        await a.stop();
      }
      expect(first).toEqual(before);
      const hash = await redis.hgetall(controlKeys.streamCheckpoints(config.sourceId, table));
      const [shardId, seq] = Object.entries(hash)[0] ?? [];
      expect(shardId).toBeDefined();
      expect(BigInt(seq as string)).toBeGreaterThan(0n);

      // Written while no reader runs, then a new reader (fresh store object, as a new process would have).
      // A shard trimmed from the stream meanwhile is forgotten by the next discovery round.
      const after = pks(table, 'b', 5);
      await put(table, after);
      const key = controlKeys.streamCheckpoints(config.sourceId, table);
      await redis.hset(key, 'shardId-trimmed-long-ago', '42', 'closed:shardId-trimmed-long-ago', '1');
      const second: string[] = [];
      const b = reader(client, streamArn as string, table, second, errors);
      b.start();
      try {
        await until(second, after.at(-1) as string);
      } finally {
        await b.stop();
      }
      expect(second).toEqual(after); // nothing before the checkpoint was delivered again
      expect(await redis.hkeys(key)).toEqual([shardId]);
      expect(errors).toEqual([]);

      // A late writer holding an older sequence number cannot pull the checkpoint back.
      const store = new RedisStreamCheckpoints(redis, config.sourceId, table);
      const newest = (await store.get(shardId as string)) as string;
      expect(BigInt(newest)).toBeGreaterThan(BigInt(seq as string));
      await store.set(shardId as string, seq as string);
      expect(await store.get(shardId as string)).toBe(newest);
    },
    GENEROUS_MS,
  );
});

describe('shard leases', () => {
  it(
    'one reader per shard: a second instance idles, takes over after the owner dies, and resumes after its checkpoint',
    async () => {
      const { table, streamArn } = await ensureTable(dynamo, `cdc_int_ls_${uniqueId('t')}`, true);
      const ttlMs = 1_500;
      const leasesA = new RedisShardLeases(redis, config.sourceId, table, ttlMs, 'reader-a');
      // Reader A "crashes": it stops without releasing, so only expiry frees its shard.
      const crashedA: ShardLeases = {
        renewEveryMs: leasesA.renewEveryMs,
        acquire: (s) => leasesA.acquire(s),
        renew: (s) => leasesA.renew(s),
        release: async () => undefined,
      };
      const leasesB = new RedisShardLeases(redis, config.sourceId, table, ttlMs, 'reader-b');
      const obsA = observedStreams();
      const obsB = observedStreams();
      const seenA: string[] = [];
      const seenB: string[] = [];
      const errors: Error[] = [];
      const a = reader(obsA.client, streamArn as string, table, seenA, errors, crashedA);
      const b = reader(obsB.client, streamArn as string, table, seenB, errors, leasesB);
      const first = pks(table, 'a', 10);
      const second = pks(table, 'b', 10);
      a.start();
      try {
        await waitFor('A to own the shard', () => (a.openShards === 1 ? true : undefined));
        b.start();
        await waitFor('B to find the shard leased', () => (b.waitingShards === 1 ? true : undefined));
        await put(table, first);
        await until(seenA, first.at(-1) as string);
        expect(b.openShards).toBe(0);
        expect(seenB).toEqual([]);
        expect(await leasesA.holder(shardOf(obsA))).toBe('reader-a');

        await a.stop(); // dies holding the lease
        await put(table, second);
        await until(seenB, second.at(-1) as string);
        expect(await leasesB.holder(shardOf(obsA))).toBe('reader-b');
      } finally {
        await a.stop();
        await b.stop();
      }
      expect(seenA).toEqual(first);
      expect(seenB).toEqual(second); // resumed after A's checkpoint: A's records were not read again

      // Never two readers on one shard: every read of B starts after A's last read ended.
      const lastA = Math.max(...obsA.reads.map((r) => r.end));
      const readsB = obsB.reads.filter((r) => r.shardId === shardOf(obsA));
      expect(readsB.length).toBeGreaterThan(0);
      expect(Math.min(...readsB.map((r) => r.start))).toBeGreaterThanOrEqual(lastA);
      expect(obsB.reads.every((r) => r.shardId !== '?')).toBe(true);
      expect(errors).toEqual([]);
      // B released on stop: the shard is free for the next instance at once.
      expect(await leasesB.holder(shardOf(obsA))).toBeNull();
    },
    GENEROUS_MS,
  );
});

/** The shard a reader read first (DynamoDB Local gives a new table one shard). */
function shardOf(obs: { reads: Interval[] }): string {
  return obs.reads[0]?.shardId as string;
}

describe('verifier restart', () => {
  /** Sets each key in Redis and writes the item the applier would have written for it (or another value). */
  async function writeMatching(
    keys: string[],
    cfg = config,
    itemValue = (key: string) => `v:${key}`,
  ): Promise<void> {
    for (const key of keys) {
      dataKeys.push(key);
      await redis.set(key, `v:${key}`);
      const event: ChangeEvent = {
        sourceId: config.sourceId,
        db: 11,
        key: Buffer.from(key),
        op: 'UPSERT',
        value: { type: 'string', data: Buffer.from(itemValue(key)) },
        version: 1n,
        expireAt: null,
        event: 'set',
        origin: 'live',
        capturedAt: Date.now(),
      };
      const item = eventToItem(event, {
        writer: config.writer,
        appliedAt: Date.now(),
        tombstoneTtlSeconds: 86_400,
      });
      await dynamo.send(new PutItemCommand({ TableName: cfg.table, Item: item }));
    }
  }

  async function run(keys: string[]): Promise<number> {
    const { app } = await bootPipeline(config, [VerifierModule]);
    try {
      const verifier = app.get(VerifierService);
      await writeMatching(keys);
      await waitFor(
        `the verifier to check ${keys.at(-1)}`,
        () => verifier.ledger.get(Buffer.from(keys.at(-1) as string)),
        { timeoutMs: 30_000 },
      );
      return verifier.stats.seen;
    } finally {
      await app.close();
    }
  }

  it(
    'checks only the records after its checkpoint, and leaves its parity window in Redis',
    async () => {
      await ensureTable(dynamo, config.table, true);
      const first = pks(config.sourceId, 'a', 8);
      expect(await run(first)).toBe(first.length);
      const parity = JSON.parse(
        (await redis.get(controlKeys.streamParity(config.sourceId, config.table))) ?? 'null',
      ) as StreamParitySnapshot | null;
      expect(parity?.classes).toEqual({ match: first.length });
      expect(parity?.windowMs).toBe(config.verifierWindowMs);

      // Records arrive in order: had the restarted verifier re-read the first eight, it would count them first.
      const second = pks(config.sourceId, 'b', 4);
      expect(await run(second)).toBe(second.length);
    },
    GENEROUS_MS,
  );

  it(
    'shutdown ends the grace waits of pending rechecks instead of waiting them out',
    async () => {
      const slow = testConfig({ REDIS_DB: '11', CDC_VERIFIER_GRACE_MS: '600000' });
      await ensureTable(dynamo, slow.table, true);
      const { app } = await bootPipeline(slow, [VerifierModule]);
      const verifier = app.get(VerifierService);
      const key = `${slow.sourceId}:differs`;
      await writeMatching([key], slow, () => 'not what Redis holds');
      await waitFor('the mismatch to be seen', () => (verifier.stats.seen === 1 ? true : undefined), {
        timeoutMs: 30_000,
      });
      expect(verifier.ledger.get(Buffer.from(key))).toBeUndefined(); // its recheck waits out the grace period
      await app.close(); // an uninterruptible wait would take 10 minutes, past GENEROUS_MS
      expect(verifier.ledger.get(Buffer.from(key))).toBeUndefined();
    },
    GENEROUS_MS,
  );
});
