import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import type { RedisValue } from '@cdc/contracts';
import { createDynamoClient } from '@cdc/dynamo';
import { createKafka } from '@cdc/kafka';
import { createLogger, LOGGER, type Logger, Metrics } from '@cdc/observability';
import {
  classify,
  itemToState,
  type ItemState,
  keyToPk,
  type ParityClass,
  type RedisState,
} from '@cdc/parity';
import {
  createRedisClient,
  type KeyReader,
  openSourceAccess,
  type SourceAccess,
  VersionedReader,
} from '@cdc/redis';
import {
  bootPipeline,
  type CdcConfig,
  type ReplicaSet,
  startCluster,
  startIsolatedDynamoDbLocal,
  startRedisServer,
  startReplicaSet,
  testConfig,
  type TestCluster,
  type TestDynamoDbLocal,
  type TestRedisServer,
  uniqueId,
  waitFor,
} from '@cdc/testing';
import type { INestApplicationContext } from '@nestjs/common';
import Redis from 'ioredis';
import pLimit from 'p-limit';
import pino from 'pino';
import { afterAll, beforeAll, describe, type ExpectStatic, it, vi } from 'vitest';

/**
 * Every state-changing Redis command, end to end on real Redis, Kafka and DynamoDB Local: after the command,
 * the DynamoDB item of every key it touched equals the Redis state (value, type and TTL), deletes are
 * tombstones, and overwrites carry a larger version. Capture re-reads the whole key on each notification, so
 * the command itself never matters to it; this file proves that for each command family, including the ones
 * whose keyspace event is unusual (copy_to, sortstore, restore, move_from, expired, evicted...).
 *
 * FLUSHDB, FLUSHALL and SWAPDB emit no per-key event and are deliberately not here.
 */

const REDIS_DB = 4; // this file's logical DB on the shared Redis (other suites: 0-3 and 6)
const MOVE_DB = 5; // MOVE's destination: not captured by anyone
const WAIT_MS = 20_000;

/** An absolute expiry an hour ahead, in whole seconds, fixed for the file. */
const T0 = Math.floor(Date.now() / 1000) + 3600;
/** Mid-second epoch ms: DynamoDB's whole-second `expireAt` (rounded up) is then exactly T0 + 1. */
const PXAT = T0 * 1000 + 500;

type Key = string | Buffer;
type Arg = string | Buffer | number;
type Cmd = readonly [string, ...Arg[]];
/** A test key: this file's prefix, the case, then the local name (a Buffer name is appended raw). */
type K = (name: string | Buffer) => Buffer;

const buf = (key: Key): Buffer => (Buffer.isBuffer(key) ? key : Buffer.from(key));
const id = (key: Key): string => buf(key).toString('latin1');

// ---------------------------------------------------------------------------------------------- rendering

const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
function txt(b: Buffer): string {
  try {
    return JSON.stringify(strictUtf8.decode(b));
  } catch {
    return `0x${b.toString('hex')}`;
  }
}

function showValue(v: RedisValue | null): string {
  if (v === null) return 'absent';
  switch (v.type) {
    case 'string':
      return `string ${txt(v.data)}`;
    case 'hash':
      return `hash {${v.fields
        .map(([f, x]) => `${txt(f)}: ${txt(x)}`)
        .sort()
        .join(', ')}}`;
    case 'list':
      return `list [${v.items.map(txt).join(', ')}]`;
    case 'set':
      return `set {${v.members.map(txt).sort().join(', ')}}`;
    case 'zset':
      return `zset {${v.members
        .map(([m, s]) => `${txt(m)}: ${s}`)
        .sort()
        .join(', ')}}`;
  }
}

function showItem(item: ItemState | null): string {
  if (item === null) return 'no item';
  if (item.deleted) return `tombstone ver=${item.version}`;
  return `${showValue(item.value)} expireAt=${item.expireAtSeconds ?? '-'} ver=${item.version} writer=${item.writer}`;
}

function showRedis(state: RedisState): string {
  const ttl = state.expireAtMs === null ? '-' : `${Math.ceil(state.expireAtMs / 1000)}s`;
  return `${showValue(state.value)} expireAt=${ttl}`;
}

/** Replies as text (Buffers decoded as UTF-8), so a table can state them. */
function text(reply: unknown): unknown {
  if (Buffer.isBuffer(reply)) return reply.toString();
  if (Array.isArray(reply)) return reply.map(text);
  return reply;
}

// ---------------------------------------------------------------------------------------------- a pipeline

interface Pipeline {
  readonly config: CdcConfig;
  readonly app: INestApplicationContext;
  readonly metrics: Metrics;
  /** The application's writer connection, on the captured db. */
  readonly redis: Redis;
  readonly reader: KeyReader;
  readonly dynamo: DynamoDBClient;
  /** Keyspace events seen per key (latin1 id), for diagnostics and event assertions. */
  readonly events: Map<string, string[]>;
  close(): Promise<void>;
}

/**
 * The pipeline under test, and the application's side: a writer, a reader of the Redis state, and a recorder of
 * the keyspace events. On a cluster (`nodes`: its primaries) the writer is a cluster client and the events are
 * recorded on every primary.
 */
async function startPipeline(config: CdcConfig, clusterPrimaries?: readonly number[]): Promise<Pipeline> {
  const redisCfg = config.require('redis').redis;
  const { app, metrics } = await bootPipeline(config, [ApplierModule, CaptureModule]);
  let redis: Redis;
  let access: SourceAccess | undefined;
  if (clusterPrimaries) {
    // Same API for what the cases call; every case's keys share one hash tag, so one slot.
    redis = new Redis.Cluster(
      clusterPrimaries.map((port) => ({ host: '127.0.0.1', port })),
    ) as unknown as Redis;
    access = await openSourceAccess(redisCfg, 'e2e-commands-reader');
  } else {
    redis = createRedisClient(redisCfg, 'e2e-commands-writer');
    await redis.connect();
  }
  // A second subscriber, next to capture's, only to record which events each command produced.
  const events = new Map<string, string[]>();
  const prefix = `__keyevent@${redisCfg.db}__:`;
  const subs = (clusterPrimaries ?? [null]).map((port) =>
    createRedisClient(
      port === null ? redisCfg : { ...redisCfg, url: `redis://127.0.0.1:${port}` },
      'e2e-commands-events',
    ),
  );
  for (const sub of subs) {
    sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, key: Buffer) => {
      const seen = events.get(id(key)) ?? [];
      seen.push(channel.toString('latin1').slice(prefix.length));
      events.set(id(key), seen);
    });
    await sub.connect();
    await sub.psubscribe(`${prefix}*`);
  }
  const dynamo = createDynamoClient(config.dynamo);
  return {
    config,
    app,
    metrics,
    redis,
    reader: access?.reader ?? new VersionedReader(redis),
    dynamo,
    events,
    async close() {
      await app.close();
      for (const sub of subs) sub.disconnect();
      access?.close();
      redis.disconnect();
      dynamo.destroy();
    },
  };
}

async function itemOf(p: Pipeline, key: Key): Promise<ItemState | null> {
  const { Item } = await p.dynamo.send(
    new GetItemCommand({
      TableName: p.config.table,
      Key: { pk: { S: keyToPk(buf(key)) } },
      ConsistentRead: true,
    }),
  );
  return Item ? itemToState(Item) : null;
}

/** The key's Redis state as the verifier reads it: same script, no version bump. */
async function redisStateOf(p: Pipeline, key: Key): Promise<RedisState> {
  const [state] = await p.reader.read([buf(key)], false);
  if (!state) throw new Error('no state read');
  return { value: state.value, expireAtMs: state.expireAtMs };
}

interface Observation {
  readonly cls: ParityClass;
  readonly item: ItemState | null;
  readonly redis: RedisState;
}

async function observe(p: Pipeline, key: Key): Promise<Observation> {
  const [item, redis] = await Promise.all([itemOf(p, key), redisStateOf(p, key)]);
  const cls = classify(item, redis, p.config.writer);
  // toJSON: what waitFor prints as the last value when it times out.
  return Object.assign(
    { cls, item, redis },
    {
      toJSON: () => ({
        cls,
        item: showItem(item),
        redis: showRedis(redis),
        events: p.events.get(id(key)) ?? [],
      }),
    },
  );
}

interface ReplicatedOptions {
  /** Keys whose item must be a tombstone (deleted=true), not merely absent. */
  readonly tombstones?: readonly Key[];
  /** Per key id: the item's version must be above this (an overwrite took a fresh version). */
  readonly newerThan?: ReadonlyMap<string, bigint>;
  readonly timeoutMs?: number;
}

/**
 * Waits, for every key, until the item classifies as `match` against Redis (a key missing in Redis matches an
 * absent item or a tombstone), plus the tombstone/version conditions. Reports every key that never got there.
 */
async function expectReplicated(
  p: Pipeline,
  keys: readonly Key[],
  opts: ReplicatedOptions = {},
): Promise<Map<string, ItemState | null>> {
  const tombstones = new Set((opts.tombstones ?? []).map(id));
  const out = new Map<string, ItemState | null>();
  const results = await Promise.allSettled(
    keys.map(async (key) => {
      const kid = id(key);
      const min = opts.newerThan?.get(kid);
      const mustBeTombstone = tombstones.has(kid);
      const what =
        `${txt(buf(key))} replicated` +
        (mustBeTombstone ? ' as a tombstone' : '') +
        (min === undefined ? '' : ` with ver > ${min}`);
      const seen = await waitFor(what, () => observe(p, key), {
        timeoutMs: opts.timeoutMs ?? WAIT_MS,
        intervalMs: 100,
        accept: (o) =>
          o.cls === 'match' &&
          (!mustBeTombstone || o.item?.deleted === true) &&
          (min === undefined || (o.item !== null && o.item.version > min)),
      });
      out.set(kid, seen.item);
    }),
  );
  const failed = results.flatMap((r) => (r.status === 'rejected' ? [(r.reason as Error).message] : []));
  if (failed.length > 0) throw new Error(failed.join('\n'));
  return out;
}

/** The headers (as text) of the DLQ record for `key`, read from the beginning of the DLQ topic. */
async function dlqHeadersFor(p: Pipeline, key: Buffer): Promise<Record<string, string>> {
  const kafka = createKafka(p.config.require('kafka').kafka, createLogger('error'));
  const consumer = kafka.consumer({ groupId: uniqueId('e2e-commands-dlq') });
  let found: Record<string, string> | undefined;
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: p.config.dlqTopic, fromBeginning: true });
    await consumer.run({
      eachMessage: async ({ message }) => {
        if (!message.key?.equals(key)) return;
        found = Object.fromEntries(
          Object.entries(message.headers ?? {}).map(([name, v]) => [
            name,
            String(Array.isArray(v) ? v[0] : v),
          ]),
        );
      },
    });
    return await waitFor(`a DLQ record for ${txt(key)} on ${p.config.dlqTopic}`, () => found);
  } finally {
    await consumer.disconnect();
  }
}

// ---------------------------------------------------------------------------------------------- the table

interface CheckContext {
  readonly k: K;
  readonly p: Pipeline;
  readonly before: ReadonlyMap<string, ItemState | null>;
  readonly after: ReadonlyMap<string, ItemState | null>;
  readonly expect: ExpectStatic;
}

interface Case {
  readonly name: string;
  /** Local names of every key the command changes (or must leave as it is): each must match Redis after. */
  readonly keys: readonly (string | Buffer)[];
  readonly setup?: (k: K) => Cmd[];
  /** The commands under test. */
  readonly run?: (k: K) => Cmd[];
  /** Instead of `run`, for what needs a live reply first (DUMP, then RESTORE) or a wait. */
  readonly act?: (r: Redis, k: K) => Promise<unknown[]>;
  /** The replies of `run`/`act` as text: proves the command did what the case says before checking DynamoDB. */
  readonly replies?: (k: K) => unknown[];
  /** Keys that must end as tombstones. */
  readonly deleted?: readonly (string | Buffer)[];
  /** Existing keys the command leaves untouched (no version bump expected; they must still match). */
  readonly unchanged?: readonly string[];
  readonly check?: (ctx: CheckContext) => void | Promise<void>;
  /** Needs more than one database (MOVE): not on a Redis Cluster, which has only db 0. */
  readonly standaloneOnly?: true;
}

const nowSeconds = () => Date.now() / 1000;

/** The item's expireAt is about `seconds` from now (relative TTL commands). */
const ttlAbout =
  (name: string, seconds: number) =>
  ({ k, after, expect }: CheckContext): void => {
    const at = after.get(id(k(name)))?.expireAtSeconds ?? null;
    expect(at, `expireAt of ${name}`).not.toBeNull();
    expect(
      Math.abs((at ?? 0) - (nowSeconds() + seconds)),
      `expireAt of ${name} vs now+${seconds}s`,
    ).toBeLessThan(15);
  };

const ttlExactly =
  (name: string, seconds: number | null) =>
  ({ k, after, expect }: CheckContext): void => {
    expect(after.get(id(k(name)))?.expireAtSeconds ?? null, `expireAt of ${name}`).toBe(seconds);
  };

const stringCases: Case[] = [
  { name: 'SET new key', keys: ['s'], run: (k) => [['SET', k('s'), 'v1']], replies: () => ['OK'] },
  {
    name: 'SET overwrite',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1']],
    run: (k) => [['SET', k('s'), 'v2']],
  },
  { name: 'SET empty value', keys: ['s'], run: (k) => [['SET', k('s'), '']] },
  {
    name: 'SET EX',
    keys: ['s'],
    run: (k) => [['SET', k('s'), 'v', 'EX', 3600]],
    check: ttlAbout('s', 3600),
  },
  {
    name: 'SET PXAT',
    keys: ['s'],
    run: (k) => [['SET', k('s'), 'v', 'PXAT', PXAT]],
    check: ttlExactly('s', T0 + 1),
  },
  {
    name: 'SET without KEEPTTL drops the TTL',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1', 'EX', 3600]],
    run: (k) => [['SET', k('s'), 'v2']],
    check: ttlExactly('s', null),
  },
  {
    name: 'SET NX on an absent key',
    keys: ['s'],
    run: (k) => [['SET', k('s'), 'v', 'NX']],
    replies: () => ['OK'],
  },
  {
    name: 'SET NX on a present key (no-op)',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1']],
    run: (k) => [['SET', k('s'), 'v2', 'NX']],
    replies: () => [null],
    unchanged: ['s'],
  },
  {
    name: 'SET XX on a present key',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1']],
    run: (k) => [['SET', k('s'), 'v2', 'XX']],
    replies: () => ['OK'],
  },
  {
    name: 'SET XX on an absent key (no-op)',
    keys: ['s'],
    run: (k) => [['SET', k('s'), 'v', 'XX']],
    replies: () => [null],
  },
  {
    name: 'SET GET',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1']],
    run: (k) => [['SET', k('s'), 'v2', 'GET']],
    replies: () => ['v1'],
  },
  {
    name: 'SET KEEPTTL keeps expireAt',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1', 'PXAT', PXAT]],
    run: (k) => [['SET', k('s'), 'v2', 'KEEPTTL']],
    check: ({ k, before, after, expect }) => {
      expect(before.get(id(k('s')))?.expireAtSeconds).toBe(T0 + 1);
      expect(after.get(id(k('s')))?.expireAtSeconds).toBe(T0 + 1);
    },
  },
  { name: 'SETEX', keys: ['s'], run: (k) => [['SETEX', k('s'), 3600, 'v']], check: ttlAbout('s', 3600) },
  {
    name: 'PSETEX',
    keys: ['s'],
    run: (k) => [['PSETEX', k('s'), 3_600_000, 'v']],
    check: ttlAbout('s', 3600),
  },
  { name: 'SETNX', keys: ['s'], run: (k) => [['SETNX', k('s'), 'v']], replies: () => [1] },
  {
    name: 'MSET',
    keys: ['a', 'b', 'c'],
    setup: (k) => [['SET', k('a'), 'old']],
    run: (k) => [['MSET', k('a'), '1', k('b'), '2', k('c'), '3']],
  },
  {
    name: 'MSETNX',
    keys: ['a', 'b'],
    run: (k) => [['MSETNX', k('a'), '1', k('b'), '2']],
    replies: () => [1],
  },
  {
    name: 'MSETNX with one key present (no-op)',
    keys: ['a', 'b'],
    setup: (k) => [['SET', k('a'), 'old']],
    run: (k) => [['MSETNX', k('a'), '1', k('b'), '2']],
    replies: () => [0],
    unchanged: ['a'],
  },
  {
    name: 'APPEND',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'ab']],
    run: (k) => [['APPEND', k('s'), 'cd']],
    replies: () => [4],
  },
  { name: 'APPEND to a new key', keys: ['s'], run: (k) => [['APPEND', k('s'), 'cd']], replies: () => [2] },
  {
    name: 'SETRANGE',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'Hello World']],
    run: (k) => [['SETRANGE', k('s'), 6, 'Redis']],
    replies: () => [11],
  },
  {
    name: 'SETRANGE on a new key (zero padding)',
    keys: ['s'],
    run: (k) => [['SETRANGE', k('s'), 3, 'x']],
    replies: () => [4],
  },
  {
    name: 'INCR',
    keys: ['n'],
    setup: (k) => [['SET', k('n'), '10']],
    run: (k) => [['INCR', k('n')]],
    replies: () => [11],
  },
  { name: 'INCR on a new key', keys: ['n'], run: (k) => [['INCR', k('n')]], replies: () => [1] },
  {
    name: 'INCRBY',
    keys: ['n'],
    setup: (k) => [['SET', k('n'), '10']],
    run: (k) => [['INCRBY', k('n'), 5]],
    replies: () => [15],
  },
  {
    name: 'INCRBYFLOAT',
    keys: ['n'],
    setup: (k) => [['SET', k('n'), '10']],
    run: (k) => [['INCRBYFLOAT', k('n'), '0.25']],
    replies: () => ['10.25'],
  },
  {
    name: 'DECR',
    keys: ['n'],
    setup: (k) => [['SET', k('n'), '10']],
    run: (k) => [['DECR', k('n')]],
    replies: () => [9],
  },
  {
    name: 'DECRBY',
    keys: ['n'],
    setup: (k) => [['SET', k('n'), '10']],
    run: (k) => [['DECRBY', k('n'), 4]],
    replies: () => [6],
  },
  {
    name: 'GETSET',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1']],
    run: (k) => [['GETSET', k('s'), 'v2']],
    replies: () => ['v1'],
  },
  {
    name: 'GETDEL',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1']],
    run: (k) => [['GETDEL', k('s')]],
    replies: () => ['v1'],
    deleted: ['s'],
  },
  {
    name: 'GETEX EX',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1']],
    run: (k) => [['GETEX', k('s'), 'EX', 3600]],
    replies: () => ['v1'],
    check: ttlAbout('s', 3600),
  },
  {
    name: 'GETEX PXAT',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1']],
    run: (k) => [['GETEX', k('s'), 'PXAT', PXAT]],
    check: ttlExactly('s', T0 + 1),
  },
  {
    name: 'GETEX PERSIST',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v1', 'EX', 3600]],
    run: (k) => [['GETEX', k('s'), 'PERSIST']],
    replies: () => ['v1'],
    check: ttlExactly('s', null),
  },
];

/** Other commands whose result is a string (bitmaps, bitfields, HyperLogLogs): binary values. */
const bitsAndHllCases: Case[] = [
  { name: 'SETBIT', keys: ['s'], run: (k) => [['SETBIT', k('s'), 0, 1]], replies: () => [0] },
  {
    name: 'BITOP',
    keys: ['d'],
    setup: (k) => [
      ['SET', k('a'), 'ab'],
      ['SET', k('b'), 'cd'],
    ],
    run: (k) => [['BITOP', 'XOR', k('d'), k('a'), k('b')]],
    replies: () => [2],
  },
  {
    name: 'BITFIELD SET',
    keys: ['s'],
    run: (k) => [['BITFIELD', k('s'), 'SET', 'u8', 0, 255]],
    replies: () => [[0]],
  },
  { name: 'PFADD', keys: ['h'], run: (k) => [['PFADD', k('h'), 'a', 'b', 'c']], replies: () => [1] },
  {
    name: 'PFMERGE',
    keys: ['d'],
    setup: (k) => [
      ['PFADD', k('a'), 'x', 'y'],
      ['PFADD', k('b'), 'y', 'z'],
    ],
    run: (k) => [['PFMERGE', k('d'), k('a'), k('b')]],
    replies: () => ['OK'],
  },
  {
    // PFCOUNT is a read, but it writes the cached cardinality into the HLL header, with no keyspace event.
    name: 'PFCOUNT after PFADD (rewrites the HLL header without an event)',
    keys: ['h'],
    setup: (k) => [['PFADD', k('h'), 'a', 'b', 'c']],
    run: (k) => [['PFCOUNT', k('h')]],
    replies: () => [3],
    unchanged: ['h'],
  },
];

const hashCases: Case[] = [
  {
    name: 'HSET new key',
    keys: ['h'],
    run: (k) => [['HSET', k('h'), 'f1', 'v1', 'f2', 'v2']],
    replies: () => [2],
  },
  {
    name: 'HSET update and add (empty value)',
    keys: ['h'],
    setup: (k) => [['HSET', k('h'), 'f1', 'v1']],
    run: (k) => [['HSET', k('h'), 'f1', 'v1b', 'f3', '']],
    replies: () => [1],
  },
  {
    name: 'HSET keeps the key TTL',
    keys: ['h'],
    setup: (k) => [
      ['HSET', k('h'), 'f1', 'v1'],
      ['PEXPIREAT', k('h'), PXAT],
    ],
    run: (k) => [['HSET', k('h'), 'f2', 'v2']],
    check: ttlExactly('h', T0 + 1),
  },
  {
    name: 'HSETNX new field',
    keys: ['h'],
    setup: (k) => [['HSET', k('h'), 'f1', 'v1']],
    run: (k) => [['HSETNX', k('h'), 'f2', 'v2']],
    replies: () => [1],
  },
  {
    name: 'HSETNX existing field (no-op)',
    keys: ['h'],
    setup: (k) => [['HSET', k('h'), 'f1', 'v1']],
    run: (k) => [['HSETNX', k('h'), 'f1', 'v2']],
    replies: () => [0],
    unchanged: ['h'],
  },
  {
    name: 'HDEL one of two fields',
    keys: ['h'],
    setup: (k) => [['HSET', k('h'), 'f1', 'v1', 'f2', 'v2']],
    run: (k) => [['HDEL', k('h'), 'f1']],
    replies: () => [1],
  },
  {
    name: 'HDEL the last fields (key gone)',
    keys: ['h'],
    setup: (k) => [['HSET', k('h'), 'f1', 'v1', 'f2', 'v2']],
    run: (k) => [['HDEL', k('h'), 'f1', 'f2']],
    replies: () => [2],
    deleted: ['h'],
  },
  {
    name: 'HINCRBY',
    keys: ['h'],
    setup: (k) => [['HSET', k('h'), 'n', '5']],
    run: (k) => [['HINCRBY', k('h'), 'n', 3]],
    replies: () => [8],
  },
  {
    name: 'HINCRBY on a new key',
    keys: ['h'],
    run: (k) => [['HINCRBY', k('h'), 'n', -3]],
    replies: () => [-3],
  },
  {
    name: 'HINCRBYFLOAT',
    keys: ['h'],
    setup: (k) => [['HSET', k('h'), 'n', '5']],
    run: (k) => [['HINCRBYFLOAT', k('h'), 'n', '0.5']],
    replies: () => ['5.5'],
  },
  {
    name: 'HMSET',
    keys: ['h'],
    setup: (k) => [['HSET', k('h'), 'f1', 'v1']],
    run: (k) => [['HMSET', k('h'), 'f1', 'x', 'f2', 'y']],
    replies: () => ['OK'],
  },
];

const listCases: Case[] = [
  { name: 'LPUSH new key', keys: ['l'], run: (k) => [['LPUSH', k('l'), 'a', 'b', 'c']], replies: () => [3] },
  {
    name: 'RPUSH (with an empty item)',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a']],
    run: (k) => [['RPUSH', k('l'), 'b', '', 'b']],
    replies: () => [4],
  },
  {
    name: 'LPUSHX',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a']],
    run: (k) => [['LPUSHX', k('l'), 'z']],
    replies: () => [2],
  },
  {
    name: 'LPUSHX on an absent key (no-op)',
    keys: ['l'],
    run: (k) => [['LPUSHX', k('l'), 'z']],
    replies: () => [0],
  },
  {
    name: 'RPUSHX',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a']],
    run: (k) => [['RPUSHX', k('l'), 'z']],
    replies: () => [2],
  },
  {
    name: 'LPOP',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b', 'c']],
    run: (k) => [['LPOP', k('l')]],
    replies: () => ['a'],
  },
  {
    name: 'RPOP with count',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b', 'c']],
    run: (k) => [['RPOP', k('l'), 2]],
    replies: () => [['c', 'b']],
  },
  {
    name: 'LPOP the last item (key gone)',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a']],
    run: (k) => [['LPOP', k('l')]],
    deleted: ['l'],
  },
  {
    name: 'RPOP with a count past the length (key gone)',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b']],
    run: (k) => [['RPOP', k('l'), 5]],
    replies: () => [['b', 'a']],
    deleted: ['l'],
  },
  {
    name: 'LSET',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b', 'c']],
    run: (k) => [['LSET', k('l'), 1, 'B']],
    replies: () => ['OK'],
  },
  {
    name: 'LINSERT BEFORE and AFTER',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'c']],
    run: (k) => [
      ['LINSERT', k('l'), 'BEFORE', 'c', 'b'],
      ['LINSERT', k('l'), 'AFTER', 'c', 'd'],
    ],
    replies: () => [3, 4],
  },
  {
    name: 'LREM',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b', 'a', 'c', 'a']],
    run: (k) => [['LREM', k('l'), 2, 'a']],
    replies: () => [2],
  },
  {
    name: 'LREM every item (key gone)',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'a']],
    run: (k) => [['LREM', k('l'), 0, 'a']],
    deleted: ['l'],
  },
  {
    name: 'LTRIM',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b', 'c', 'd']],
    run: (k) => [['LTRIM', k('l'), 1, 2]],
    replies: () => ['OK'],
  },
  {
    name: 'LTRIM to nothing (key gone)',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b']],
    run: (k) => [['LTRIM', k('l'), 5, 10]],
    deleted: ['l'],
  },
  {
    name: 'LMOVE between two lists',
    keys: ['src', 'dst'],
    setup: (k) => [
      ['RPUSH', k('src'), 'a', 'b'],
      ['RPUSH', k('dst'), 'x'],
    ],
    run: (k) => [['LMOVE', k('src'), k('dst'), 'LEFT', 'RIGHT']],
    replies: () => ['a'],
  },
  {
    name: 'LMOVE the last item to a new list (source gone)',
    keys: ['src', 'dst'],
    setup: (k) => [['RPUSH', k('src'), 'a']],
    run: (k) => [['LMOVE', k('src'), k('dst'), 'LEFT', 'LEFT']],
    deleted: ['src'],
  },
  {
    name: 'LMOVE within one list (rotation)',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b', 'c']],
    run: (k) => [['LMOVE', k('l'), k('l'), 'LEFT', 'RIGHT']],
    replies: () => ['a'],
  },
  {
    name: 'RPOPLPUSH',
    keys: ['src', 'dst'],
    setup: (k) => [
      ['RPUSH', k('src'), 'a', 'b'],
      ['RPUSH', k('dst'), 'x'],
    ],
    run: (k) => [['RPOPLPUSH', k('src'), k('dst')]],
    replies: () => ['b'],
  },
  {
    name: 'RPOPLPUSH the last item (source gone)',
    keys: ['src', 'dst'],
    setup: (k) => [
      ['RPUSH', k('src'), 'a'],
      ['RPUSH', k('dst'), 'x'],
    ],
    run: (k) => [['RPOPLPUSH', k('src'), k('dst')]],
    deleted: ['src'],
  },
  {
    name: 'BLPOP on a non-empty list',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b']],
    run: (k) => [['BLPOP', k('l'), 1]],
    replies: (k) => [[k('l'), 'a']],
  },
  {
    name: 'BLPOP over two keys (first one absent)',
    keys: ['empty', 'l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b']],
    run: (k) => [['BLPOP', k('empty'), k('l'), 1]],
    replies: (k) => [[k('l'), 'a']],
  },
  {
    name: 'BRPOP on a non-empty list',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b']],
    run: (k) => [['BRPOP', k('l'), 1]],
    replies: (k) => [[k('l'), 'b']],
  },
  {
    name: 'BRPOP the last item (key gone)',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a']],
    run: (k) => [['BRPOP', k('l'), 1]],
    deleted: ['l'],
  },
  {
    name: 'BLMOVE between two lists',
    keys: ['src', 'dst'],
    setup: (k) => [
      ['RPUSH', k('src'), 'a', 'b'],
      ['RPUSH', k('dst'), 'x'],
    ],
    run: (k) => [['BLMOVE', k('src'), k('dst'), 'RIGHT', 'LEFT', 1]],
    replies: () => ['b'],
  },
  {
    name: 'BRPOPLPUSH between two lists',
    keys: ['src', 'dst'],
    setup: (k) => [
      ['RPUSH', k('src'), 'a', 'b'],
      ['RPUSH', k('dst'), 'x'],
    ],
    run: (k) => [['BRPOPLPUSH', k('src'), k('dst'), 1]],
    replies: () => ['b'],
  },
  {
    name: 'LMPOP with count (first non-empty of two keys)',
    keys: ['l1', 'l2'],
    setup: (k) => [['RPUSH', k('l2'), 'a', 'b', 'c']],
    run: (k) => [['LMPOP', 2, k('l1'), k('l2'), 'LEFT', 'COUNT', 2]],
    replies: (k) => [[k('l2'), ['a', 'b']]],
  },
  {
    name: 'LMPOP every item (key gone)',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b']],
    run: (k) => [['LMPOP', 1, k('l'), 'RIGHT', 'COUNT', 10]],
    deleted: ['l'],
  },
  {
    name: 'BLMPOP',
    keys: ['l'],
    setup: (k) => [['RPUSH', k('l'), 'a', 'b', 'c']],
    run: (k) => [['BLMPOP', 1, 1, k('l'), 'RIGHT', 'COUNT', 2]],
    replies: (k) => [[k('l'), ['c', 'b']]],
  },
];

const setCases: Case[] = [
  {
    name: 'SADD new key (with an empty member)',
    keys: ['s'],
    run: (k) => [['SADD', k('s'), 'a', 'b', '']],
    replies: () => [3],
  },
  {
    name: 'SADD to an existing set',
    keys: ['s'],
    setup: (k) => [['SADD', k('s'), 'a']],
    run: (k) => [['SADD', k('s'), 'a', 'b']],
    replies: () => [1],
  },
  {
    name: 'SREM',
    keys: ['s'],
    setup: (k) => [['SADD', k('s'), 'a', 'b', 'c']],
    run: (k) => [['SREM', k('s'), 'a', 'zz']],
    replies: () => [1],
  },
  {
    name: 'SREM the last members (key gone)',
    keys: ['s'],
    setup: (k) => [['SADD', k('s'), 'a', 'b']],
    run: (k) => [['SREM', k('s'), 'a', 'b']],
    deleted: ['s'],
  },
  {
    name: 'SPOP',
    keys: ['s'],
    setup: (k) => [['SADD', k('s'), 'a', 'b', 'c']],
    run: (k) => [['SPOP', k('s')]],
  },
  {
    name: 'SPOP with count',
    keys: ['s'],
    setup: (k) => [['SADD', k('s'), 'a', 'b', 'c', 'd']],
    run: (k) => [['SPOP', k('s'), 2]],
  },
  {
    name: 'SPOP with a count past the size (key gone)',
    keys: ['s'],
    setup: (k) => [['SADD', k('s'), 'a', 'b']],
    run: (k) => [['SPOP', k('s'), 5]],
    deleted: ['s'],
  },
  {
    name: 'SMOVE',
    keys: ['src', 'dst'],
    setup: (k) => [
      ['SADD', k('src'), 'a', 'b'],
      ['SADD', k('dst'), 'x'],
    ],
    run: (k) => [['SMOVE', k('src'), k('dst'), 'a']],
    replies: () => [1],
  },
  {
    name: 'SMOVE the last member to a new set (source gone)',
    keys: ['src', 'dst'],
    setup: (k) => [['SADD', k('src'), 'a']],
    run: (k) => [['SMOVE', k('src'), k('dst'), 'a']],
    deleted: ['src'],
  },
  {
    name: 'SINTERSTORE over a destination of another type',
    keys: ['d'],
    setup: (k) => [
      ['SADD', k('a'), '1', '2', '3'],
      ['SADD', k('b'), '2', '3', '4'],
      ['SET', k('d'), 'was a string'],
    ],
    run: (k) => [['SINTERSTORE', k('d'), k('a'), k('b')]],
    replies: () => [2],
  },
  {
    name: 'SINTERSTORE with an empty result (destination gone)',
    keys: ['d'],
    setup: (k) => [
      ['SADD', k('a'), '1'],
      ['SADD', k('b'), '2'],
      ['SADD', k('d'), 'x'],
    ],
    run: (k) => [['SINTERSTORE', k('d'), k('a'), k('b')]],
    replies: () => [0],
    deleted: ['d'],
  },
  {
    name: 'SUNIONSTORE',
    keys: ['d'],
    setup: (k) => [
      ['SADD', k('a'), '1', '2'],
      ['SADD', k('b'), '2', '3'],
      ['SADD', k('d'), 'x'],
    ],
    run: (k) => [['SUNIONSTORE', k('d'), k('a'), k('b')]],
    replies: () => [3],
  },
  {
    name: 'SDIFFSTORE',
    keys: ['d'],
    setup: (k) => [
      ['SADD', k('a'), '1', '2', '3'],
      ['SADD', k('b'), '2'],
    ],
    run: (k) => [['SDIFFSTORE', k('d'), k('a'), k('b')]],
    replies: () => [2],
  },
];

const zsetCases: Case[] = [
  {
    name: 'ZADD new key (fractions and negatives)',
    keys: ['z'],
    run: (k) => [['ZADD', k('z'), 1, 'a', '2.5', 'b', '-3', 'c', '0.1', 'd', '1e-7', 'e']],
    replies: () => [5],
  },
  {
    name: 'ZADD +inf and -inf',
    keys: ['z'],
    run: (k) => [['ZADD', k('z'), '+inf', 'top', '-inf', 'bottom', 0, 'mid']],
    replies: () => [3],
  },
  {
    name: 'ZADD NX',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a']],
    run: (k) => [['ZADD', k('z'), 'NX', 5, 'a', 2, 'b']],
    replies: () => [1],
  },
  {
    name: 'ZADD XX',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a']],
    run: (k) => [['ZADD', k('z'), 'XX', 'CH', 5, 'a', 2, 'b']],
    replies: () => [1],
  },
  {
    name: 'ZADD GT',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 5, 'a', 5, 'b']],
    run: (k) => [['ZADD', k('z'), 'GT', 'CH', 3, 'a', 7, 'b']],
    replies: () => [1],
  },
  {
    name: 'ZADD LT',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 5, 'a', 5, 'b']],
    run: (k) => [['ZADD', k('z'), 'LT', 'CH', 3, 'a', 7, 'b']],
    replies: () => [1],
  },
  {
    name: 'ZADD GT that changes nothing (no-op)',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 5, 'a']],
    run: (k) => [['ZADD', k('z'), 'GT', 'CH', 1, 'a']],
    replies: () => [0],
    unchanged: ['z'],
  },
  {
    name: 'ZADD INCR',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a']],
    run: (k) => [['ZADD', k('z'), 'INCR', 2, 'a']],
    replies: () => ['3'],
  },
  {
    name: 'ZINCRBY',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a']],
    run: (k) => [['ZINCRBY', k('z'), '2.5', 'a']],
    replies: () => ['3.5'],
  },
  {
    name: 'ZINCRBY to +inf',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a']],
    run: (k) => [['ZINCRBY', k('z'), '+inf', 'a']],
    replies: () => ['inf'],
  },
  {
    name: 'ZREM',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b']],
    run: (k) => [['ZREM', k('z'), 'a']],
    replies: () => [1],
  },
  {
    name: 'ZREM the last member (key gone)',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a']],
    run: (k) => [['ZREM', k('z'), 'a']],
    deleted: ['z'],
  },
  {
    name: 'ZPOPMIN',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b', 3, 'c']],
    run: (k) => [['ZPOPMIN', k('z')]],
    replies: () => [['a', '1']],
  },
  {
    name: 'ZPOPMAX with count',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b', 3, 'c']],
    run: (k) => [['ZPOPMAX', k('z'), 2]],
    replies: () => [['c', '3', 'b', '2']],
  },
  {
    name: 'ZPOPMIN every member (key gone)',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b']],
    run: (k) => [['ZPOPMIN', k('z'), 5]],
    deleted: ['z'],
  },
  {
    name: 'BZPOPMIN',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b']],
    run: (k) => [['BZPOPMIN', k('z'), 1]],
    replies: (k) => [[k('z'), 'a', '1']],
  },
  {
    name: 'BZPOPMAX',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b']],
    run: (k) => [['BZPOPMAX', k('z'), 1]],
    replies: (k) => [[k('z'), 'b', '2']],
  },
  {
    name: 'ZREMRANGEBYRANK',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b', 3, 'c']],
    run: (k) => [['ZREMRANGEBYRANK', k('z'), 0, 1]],
    replies: () => [2],
  },
  {
    name: 'ZREMRANGEBYRANK everything (key gone)',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b']],
    run: (k) => [['ZREMRANGEBYRANK', k('z'), 0, -1]],
    deleted: ['z'],
  },
  {
    name: 'ZREMRANGEBYSCORE',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a', 2, 'b', 3, 'c', '+inf', 'd']],
    run: (k) => [['ZREMRANGEBYSCORE', k('z'), '-inf', '(3']],
    replies: () => [2],
  },
  {
    name: 'ZREMRANGEBYLEX',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 0, 'a', 0, 'b', 0, 'c', 0, 'd']],
    run: (k) => [['ZREMRANGEBYLEX', k('z'), '[b', '[c']],
    replies: () => [2],
  },
  {
    name: 'ZRANGESTORE',
    keys: ['dst'],
    setup: (k) => [['ZADD', k('src'), 1, 'a', 2, 'b', 3, 'c']],
    run: (k) => [['ZRANGESTORE', k('dst'), k('src'), 0, 1]],
    replies: () => [2],
  },
  {
    name: 'ZRANGESTORE with an empty range (destination gone)',
    keys: ['dst'],
    setup: (k) => [
      ['ZADD', k('src'), 1, 'a'],
      ['ZADD', k('dst'), 9, 'x'],
    ],
    run: (k) => [['ZRANGESTORE', k('dst'), k('src'), 5, 10]],
    replies: () => [0],
    deleted: ['dst'],
  },
  {
    name: 'ZUNIONSTORE (weights, MAX)',
    keys: ['d'],
    setup: (k) => [
      ['ZADD', k('a'), 1, 'x', 2, 'y'],
      ['ZADD', k('b'), 5, 'y', 3, 'z'],
      ['ZADD', k('d'), 100, 'old'],
    ],
    run: (k) => [['ZUNIONSTORE', k('d'), 2, k('a'), k('b'), 'WEIGHTS', 1, '0.5', 'AGGREGATE', 'MAX']],
    replies: () => [3],
  },
  {
    name: 'ZINTERSTORE',
    keys: ['d'],
    setup: (k) => [
      ['ZADD', k('a'), 1, 'x', 2, 'y'],
      ['ZADD', k('b'), 5, 'y', 3, 'z'],
    ],
    run: (k) => [['ZINTERSTORE', k('d'), 2, k('a'), k('b')]],
    replies: () => [1],
  },
  {
    name: 'ZDIFFSTORE',
    keys: ['d'],
    setup: (k) => [
      ['ZADD', k('a'), 1, 'x', 2, 'y'],
      ['ZADD', k('b'), 5, 'y'],
    ],
    run: (k) => [['ZDIFFSTORE', k('d'), 2, k('a'), k('b')]],
    replies: () => [1],
  },
  {
    name: 'ZMPOP with count (first non-empty of two keys)',
    keys: ['z1', 'z2'],
    setup: (k) => [['ZADD', k('z2'), 1, 'a', 2, 'b', 3, 'c']],
    run: (k) => [['ZMPOP', 2, k('z1'), k('z2'), 'MAX', 'COUNT', 2]],
    replies: (k) => [
      [
        k('z2'),
        [
          ['c', '3'],
          ['b', '2'],
        ],
      ],
    ],
  },
  {
    name: 'BZMPOP every member (key gone)',
    keys: ['z'],
    setup: (k) => [['ZADD', k('z'), 1, 'a']],
    run: (k) => [['BZMPOP', 1, 1, k('z'), 'MIN', 'COUNT', 5]],
    deleted: ['z'],
  },
];

const genericCases: Case[] = [
  {
    name: 'DEL',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v', 'EX', 3600]],
    run: (k) => [['DEL', k('s')]],
    replies: () => [1],
    deleted: ['s'],
  },
  {
    name: 'DEL several keys of several types',
    keys: ['a', 'b', 'c'],
    setup: (k) => [
      ['HSET', k('a'), 'f', 'v'],
      ['RPUSH', k('b'), 'x'],
      ['ZADD', k('c'), 1, 'm'],
    ],
    run: (k) => [['DEL', k('a'), k('b'), k('c'), k('never')]],
    replies: () => [3],
    deleted: ['a', 'b', 'c'],
  },
  {
    name: 'UNLINK several keys',
    keys: ['a', 'b', 'c', 'd', 'e'],
    setup: (k) => [
      ['SET', k('a'), 'v'],
      ['HSET', k('b'), 'f', 'v'],
      ['RPUSH', k('c'), 'x'],
      ['SADD', k('d'), 'm'],
      ['ZADD', k('e'), 1, 'm'],
    ],
    run: (k) => [['UNLINK', k('a'), k('b'), k('c'), k('d'), k('e')]],
    replies: () => [5],
    deleted: ['a', 'b', 'c', 'd', 'e'],
  },
  {
    name: 'EXPIRE',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v']],
    run: (k) => [['EXPIRE', k('s'), 3600]],
    replies: () => [1],
    check: ttlAbout('s', 3600),
  },
  {
    name: 'PEXPIRE',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v']],
    run: (k) => [['PEXPIRE', k('s'), 7_200_000]],
    check: ttlAbout('s', 7200),
  },
  {
    name: 'EXPIREAT',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v']],
    run: (k) => [['EXPIREAT', k('s'), T0]],
    check: ttlExactly('s', T0),
  },
  {
    name: 'PEXPIREAT',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v']],
    run: (k) => [['PEXPIREAT', k('s'), PXAT]],
    check: ttlExactly('s', T0 + 1),
  },
  {
    name: 'EXPIRE on a hash, a list, a set and a zset',
    keys: ['h', 'l', 's', 'z'],
    setup: (k) => [
      ['HSET', k('h'), 'f', 'v'],
      ['RPUSH', k('l'), 'x'],
      ['SADD', k('s'), 'm'],
      ['ZADD', k('z'), 1, 'm'],
    ],
    run: (k) => [
      ['EXPIREAT', k('h'), T0],
      ['EXPIREAT', k('l'), T0],
      ['EXPIREAT', k('s'), T0],
      ['EXPIREAT', k('z'), T0],
    ],
    check: (ctx) => {
      for (const name of ['h', 'l', 's', 'z']) ttlExactly(name, T0)(ctx);
    },
  },
  {
    name: 'EXPIREAT in the past deletes the key',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v']],
    run: (k) => [['EXPIREAT', k('s'), 1]],
    replies: () => [1],
    deleted: ['s'],
  },
  {
    name: 'PERSIST',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v', 'EX', 3600]],
    run: (k) => [['PERSIST', k('s')]],
    replies: () => [1],
    check: ttlExactly('s', null),
  },
  {
    name: 'expired (PEXPIRE 50 ms, then Redis expires the key)',
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v']],
    act: async (r, k) => {
      const reply = await r.call('PEXPIRE', k('s'), 50);
      await waitFor(
        'the key to expire in Redis',
        async () => ((await r.exists(k('s'))) === 0 ? true : undefined),
        {
          timeoutMs: 5_000,
        },
      );
      return [reply];
    },
    replies: () => [1],
    deleted: ['s'],
    check: ({ k, p, expect }) => {
      expect(p.events.get(id(k('s')))).toContain('expired');
    },
  },
  {
    name: 'RENAME (the TTL moves with the value)',
    keys: ['src', 'dst'],
    setup: (k) => [['SET', k('src'), 'v', 'PXAT', PXAT]],
    run: (k) => [['RENAME', k('src'), k('dst')]],
    replies: () => ['OK'],
    deleted: ['src'],
    check: ttlExactly('dst', T0 + 1),
  },
  {
    name: 'RENAME over an existing key of another type',
    keys: ['src', 'dst'],
    setup: (k) => [
      ['HSET', k('src'), 'f', 'v'],
      ['RPUSH', k('dst'), 'x'],
    ],
    run: (k) => [['RENAME', k('src'), k('dst')]],
    deleted: ['src'],
  },
  {
    name: 'RENAMENX',
    keys: ['src', 'dst'],
    setup: (k) => [['SADD', k('src'), 'm']],
    run: (k) => [['RENAMENX', k('src'), k('dst')]],
    replies: () => [1],
    deleted: ['src'],
  },
  {
    name: 'RENAMENX onto an existing key (no-op)',
    keys: ['src', 'dst'],
    setup: (k) => [
      ['SET', k('src'), 'a'],
      ['SET', k('dst'), 'b'],
    ],
    run: (k) => [['RENAMENX', k('src'), k('dst')]],
    replies: () => [0],
    unchanged: ['src', 'dst'],
  },
  {
    name: 'MOVE to another db',
    standaloneOnly: true,
    keys: ['s'],
    setup: (k) => [['SET', k('s'), 'v']],
    run: (k) => [['MOVE', k('s'), MOVE_DB]],
    replies: () => [1],
    deleted: ['s'],
    check: async ({ k, p, expect }) => {
      const other = createRedisClient(
        { ...p.config.require('redis').redis, db: MOVE_DB },
        'e2e-commands-move',
      );
      try {
        await other.connect();
        expect(await other.getdel(k('s'))).toBe('v');
      } finally {
        other.disconnect();
      }
    },
  },
  {
    name: 'COPY (value and TTL)',
    keys: ['dst'],
    setup: (k) => [
      ['HSET', k('src'), 'f1', 'v1', 'f2', 'v2'],
      ['PEXPIREAT', k('src'), PXAT],
    ],
    run: (k) => [['COPY', k('src'), k('dst')]],
    replies: () => [1],
    check: ttlExactly('dst', T0 + 1),
  },
  {
    name: 'COPY REPLACE over a key of another type',
    keys: ['dst'],
    setup: (k) => [
      ['RPUSH', k('src'), 'a', 'b'],
      ['SADD', k('dst'), 'x'],
    ],
    run: (k) => [['COPY', k('src'), k('dst'), 'REPLACE']],
    replies: () => [1],
  },
  {
    name: 'RESTORE under a new name',
    keys: ['dst'],
    setup: (k) => [['ZADD', k('src'), 1, 'a', '+inf', 'b']],
    act: async (r, k) => {
      const dump = await r.dumpBuffer(k('src'));
      return [await r.call('RESTORE', k('dst'), 0, dump)];
    },
    replies: () => ['OK'],
  },
  {
    name: 'RESTORE REPLACE over an existing key',
    keys: ['dst'],
    setup: (k) => [
      ['HSET', k('src'), 'f', 'v'],
      ['SET', k('dst'), 'old'],
    ],
    act: async (r, k) => {
      const dump = await r.dumpBuffer(k('src'));
      return [await r.call('RESTORE', k('dst'), 0, dump, 'REPLACE')];
    },
    replies: () => ['OK'],
  },
  {
    name: 'RESTORE ABSTTL',
    keys: ['dst'],
    setup: (k) => [['SET', k('src'), 'v']],
    act: async (r, k) => {
      const dump = await r.dumpBuffer(k('src'));
      return [await r.call('RESTORE', k('dst'), PXAT, dump, 'ABSTTL')];
    },
    replies: () => ['OK'],
    check: ttlExactly('dst', T0 + 1),
  },
  {
    name: 'SORT ... STORE',
    keys: ['dst'],
    setup: (k) => [
      ['RPUSH', k('src'), 'c', 'a', 'b'],
      ['SET', k('dst'), 'old'],
    ],
    run: (k) => [['SORT', k('src'), 'ALPHA', 'STORE', k('dst')]],
    replies: () => [3],
  },
  {
    name: 'SORT ... STORE of an empty source (destination gone)',
    keys: ['dst'],
    setup: (k) => [['RPUSH', k('dst'), 'x']],
    run: (k) => [['SORT', k('src'), 'STORE', k('dst')]],
    replies: () => [0],
    deleted: ['dst'],
  },
  {
    name: 'EVAL writing two keys',
    keys: ['a', 'b'],
    setup: (k) => [['SET', k('a'), 'old']],
    run: (k) => [
      [
        'EVAL',
        "redis.call('SET', KEYS[1], 'new'); redis.call('RPUSH', KEYS[2], 'x', 'y'); return 1",
        2,
        k('a'),
        k('b'),
      ],
    ],
    replies: () => [1],
  },
  {
    name: 'MULTI/EXEC over three keys',
    keys: ['a', 'b', 'c'],
    setup: (k) => [
      ['SET', k('a'), 'old'],
      ['SADD', k('b'), 'm'],
    ],
    act: async (r, k) => [await r.multi().set(k('a'), 'new').del(k('b')).zadd(k('c'), 1, 'm').exec()],
    deleted: ['b'],
  },
];

// ---------------------------------------------------------------------------------------------- the suite

/**
 * The whole table three times: capture reading on the primary (the shared Redis); on a replica of a private
 * primary (REDIS_READ_FROM=replica), where some events arrive under other names (an expiry as `del`, INCRBYFLOAT
 * as `set`) and the versions come from the replica's offset; and on the replicas of a private Redis Cluster
 * (3 shards), where every case's keys share a hash tag, so the cases spread over the slots of every shard.
 */
for (const mode of ['primary', 'replica', 'cluster'] as const)
  describe(`every state-changing Redis command reaches DynamoDB as the key state (capture reads on the ${mode})`, () => {
    let config = testConfig({ REDIS_DB: String(REDIS_DB) });
    let replicaSet: ReplicaSet | undefined;
    let cluster: TestCluster | undefined;
    let ddb: TestDynamoDbLocal | undefined;
    let p: Pipeline;
    /** Keys: `{<source>:<case>}:<name>`, so each case (and each run) owns its keys, all in one slot. */
    const keyFor =
      (scope: string): K =>
      (name) =>
        Buffer.concat([Buffer.from(`{${config.sourceId}:${scope}}:`), buf(name)]);

    beforeAll(async () => {
      if (mode === 'replica') {
        replicaSet = await startReplicaSet({ replicas: 1 });
        config = testConfig({
          CDC_SOURCE_ID: config.sourceId,
          REDIS_URL: replicaSet.primary.url,
          REDIS_DB: String(REDIS_DB),
          REDIS_READ_FROM: 'replica',
          REDIS_REPLICA_URL: (replicaSet.replicas[0] as TestRedisServer).url,
        });
      }
      if (mode === 'cluster') {
        // Its own DynamoDB Local: a suite of this size leaves the shared one slower for every file after it.
        [cluster, ddb] = await Promise.all([startCluster(), startIsolatedDynamoDbLocal()]);
        const primaries = (await cluster.topology()).filter((r) => r.role === 'master').map((r) => r.port);
        config = testConfig({
          CDC_SOURCE_ID: config.sourceId,
          REDIS_URL: `redis://${cluster.seeds}`,
          DYNAMODB_ENDPOINT: ddb.endpoint,
          REDIS_DB: '0',
          REDIS_READ_FROM: 'replica',
        });
        p = await startPipeline(config, primaries);
        return;
      }
      p = await startPipeline(config);
    });

    afterAll(async () => {
      await p?.close();
      await replicaSet?.stop();
      await cluster?.stop();
      await ddb?.stop();
    });

    async function exec(cmd: Cmd): Promise<unknown> {
      const [name, ...args] = cmd;
      return p.redis.callBuffer(name, ...args);
    }

    async function runCase(family: string, c: Case, expect: ExpectStatic): Promise<void> {
      const k = keyFor(`${family}:${c.name}`);
      const keys = c.keys.map(k);
      let before = new Map<string, ItemState | null>();
      if (c.setup) {
        for (const cmd of c.setup(k)) await exec(cmd);
        before = await expectReplicated(p, keys);
      }
      const replies: unknown[] = [];
      if (c.act) replies.push(...(await c.act(p.redis, k)));
      for (const cmd of c.run?.(k) ?? []) replies.push(await exec(cmd));
      if (c.replies) expect(text(replies), 'command replies').toEqual(text(c.replies(k)));

      const unchanged = new Set((c.unchanged ?? []).map((n) => id(k(n))));
      const newerThan = new Map<string, bigint>();
      for (const key of keys) {
        const prior = before.get(id(key));
        if (prior && !prior.deleted && !unchanged.has(id(key))) newerThan.set(id(key), prior.version);
      }
      const after = await expectReplicated(p, keys, { tombstones: (c.deleted ?? []).map(k), newerThan });
      await c.check?.({ k, p, before, after, expect });
    }

    const families: Array<[string, Case[]]> = [
      ['strings', stringCases],
      ['bitmaps and HyperLogLogs', bitsAndHllCases],
      ['hashes', hashCases],
      ['lists', listCases],
      ['sets', setCases],
      ['zsets', zsetCases],
      ['generic', genericCases],
    ];

    for (const [family, cases] of families) {
      describe(family, () => {
        const here = mode === 'cluster' ? cases.filter((c) => !c.standaloneOnly) : cases;
        it.concurrent.for(here)('$name', async (c, { expect }) => runCase(family, c, expect));
      });
    }

    describe('binary keys and values (bytes that are not valid UTF-8)', () => {
      const BIN = Buffer.from([0xff, 0xfe, 0x00]);
      const bin = (s: string) => Buffer.concat([Buffer.from(s), BIN]);

      it.concurrent(
        'string, hash field and value, list item, set member, zset member',
        async ({ expect }) => {
          const k = keyFor('binary');
          const keys = {
            string: k(bin('string')),
            hash: k(bin('hash')),
            list: k(bin('list')),
            set: k(bin('set')),
            zset: k(bin('zset')),
          };
          await exec(['SET', keys.string, bin('value')]);
          await exec(['HSET', keys.hash, bin('field'), bin('value'), 'plain', BIN]);
          await exec(['RPUSH', keys.list, bin('item'), 'plain', BIN]);
          await exec(['SADD', keys.set, bin('member'), 'plain', BIN]);
          await exec(['ZADD', keys.zset, 1, bin('member'), 2, 'plain', '-inf', BIN]);
          const first = await expectReplicated(p, Object.values(keys));
          for (const key of Object.values(keys)) expect(first.get(id(key))?.deleted).toBe(false);

          // Overwrites and a delete of binary keys: versions grow, the delete is a tombstone of the right key.
          await exec(['APPEND', keys.string, BIN]);
          await exec(['HDEL', keys.hash, 'plain']);
          await exec(['LSET', keys.list, 1, BIN]);
          await exec(['SREM', keys.set, BIN]);
          await exec(['DEL', keys.zset]);
          const newerThan = new Map(
            Object.values(keys).map((key) => [id(key), first.get(id(key))?.version ?? 0n] as const),
          );
          await expectReplicated(p, Object.values(keys), { tombstones: [keys.zset], newerThan });
        },
      );

      it.concurrent('RENAME of a binary key to another binary key', async () => {
        const k = keyFor('binary-rename');
        const [src, dst] = [k(bin('src')), k(bin('dst'))];
        await exec(['RPUSH', src, BIN, bin('x')]);
        await expectReplicated(p, [src]);
        await exec(['RENAME', src, dst]);
        await expectReplicated(p, [src, dst], { tombstones: [src] });
      });
    });

    describe('a key whose type changes', () => {
      it.concurrent('SET, then DEL + RPUSH in quick succession ends as the list', async ({ expect }) => {
        const key = keyFor('type-change')('k');
        await exec(['SET', key, 'a string']);
        const before = await expectReplicated(p, [key]);
        const prior = before.get(id(key));
        expect(prior?.value?.type).toBe('string');
        await p.redis.pipeline().del(key).rpush(key, 'a', 'b').exec();
        const after = await expectReplicated(p, [key], {
          newerThan: new Map([[id(key), prior?.version ?? 0n]]),
        });
        expect(after.get(id(key))?.value?.type).toBe('list');
      });

      it.concurrent('a string overwritten by a hash, a set and a zset in turn', async ({ expect }) => {
        const key = keyFor('type-chain')('k');
        await exec(['SET', key, 'v']);
        let last = (await expectReplicated(p, [key])).get(id(key));
        for (const cmds of [
          [['DEL', key] as Cmd, ['HSET', key, 'f', 'v'] as Cmd],
          [['DEL', key] as Cmd, ['SADD', key, 'm'] as Cmd],
          [['DEL', key] as Cmd, ['ZADD', key, 1, 'm'] as Cmd],
        ]) {
          for (const cmd of cmds) await exec(cmd);
          last = (
            await expectReplicated(p, [key], { newerThan: new Map([[id(key), last?.version ?? 0n]]) })
          ).get(id(key));
        }
        expect(last?.value?.type).toBe('zset');
      });
    });

    // Sequential: they read the shared rejected-keys counter.
    describe('streams (not carried: rejected loudly, never silently dropped)', () => {
      /** Every reason: the label has changed with the code (unsupported_type_stream, then UNSUPPORTED_TYPE). */
      const rejected = () => Metrics.total(p.metrics.captureRejected);

      it('XADD: counted in cdc_capture_rejected_total, logged (warn or worse) with the key, on the DLQ, and a tombstone (read as absent)', async ({
        expect,
      }) => {
        const key = keyFor('stream')('x');
        const logger = p.app.get<Logger>(LOGGER);
        // Capture logs through a child of this logger; children share the parent's destination stream.
        const destination = (logger as unknown as Record<symbol, { write: (line: string) => unknown }>)[
          pino.symbols.streamSym
        ];
        const write = destination ? vi.spyOn(destination, 'write') : undefined;
        try {
          const base = await rejected();
          await exec(['XADD', key, '*', 'field', 'value']);
          await waitFor('the stream key to be rejected', rejected, { accept: (n) => n > base });
          expect(await rejected()).toBe(base + 1);
          expect(p.events.get(id(key))).toContain('xadd');
          // Rejected keys are tombstoned (docs/item-layout.md): a reader sees the key as absent.
          expect(
            await waitFor(`${key.toString('hex')} tombstone`, () =>
              itemOf(p, key).then((i) => i ?? undefined),
            ),
          ).toMatchObject({
            deleted: true,
            value: null,
          });
          if (write && logger.isLevelEnabled('warn')) {
            const logged = write.mock.calls
              .map(([line]) => JSON.parse(String(line)) as { level: number; key?: string; type?: string })
              .find((l) => l.key === key.toString());
            expect(logged, 'a log line naming the stream key').toMatchObject({ type: 'stream' });
            expect(logged?.level, 'logged at warn or worse').toBeGreaterThanOrEqual(40);
          }
          const headers = await dlqHeadersFor(p, key);
          expect(headers['cdc-error-code'], 'DLQ record for the stream key').toBeDefined();
        } finally {
          write?.mockRestore();
        }
      });

      it('a replicated key that becomes a stream does not keep its old value in DynamoDB', async () => {
        // The item of a key that Redis now holds as a stream cannot equal Redis; the old string must at least
        // not stay there as if it were live (a reader after cutover would see a value Redis no longer has).
        const key = keyFor('stream')('was-a-string');
        await exec(['SET', key, 'old value']);
        await expectReplicated(p, [key]);
        const base = await rejected();
        await p.redis.multi().del(key).xadd(key, '*', 'field', 'value').exec();
        await waitFor('the stream key to be rejected', rejected, { accept: (n) => n > base });
        await expectReplicated(p, [key], { timeoutMs: 5_000 });
      });
    });
  });

describe('evicted: a key Redis evicts under maxmemory ends as a tombstone', () => {
  let server: TestRedisServer;
  let p: Pipeline;

  beforeAll(async () => {
    server = await startRedisServer({
      args: ['--maxmemory', '2mb', '--maxmemory-policy', 'allkeys-random', '--notify-keyspace-events', 'KEA'],
    });
    p = await startPipeline(testConfig({ REDIS_URL: server.url, REDIS_DB: '0' }));
  });

  afterAll(async () => {
    await p?.close();
    await server?.stop();
  });

  it('every key written is replicated: evicted ones as tombstones, the rest as their value', async ({
    expect,
  }) => {
    const keys = Array.from({ length: 300 }, (_, i) => `${p.config.sourceId}:evict:${i}`);
    const value = 'x'.repeat(8 * 1024);
    for (let i = 0; i < keys.length; i += 25) {
      const batch = p.redis.pipeline();
      for (const key of keys.slice(i, i + 25)) batch.set(key, value);
      await batch.exec();
    }
    const evicted = async () => Number(/evicted_keys:(\d+)/.exec(await p.redis.info('stats'))?.[1] ?? 0);
    await waitFor('Redis to evict keys', evicted, { accept: (n) => n > 0 });

    const limit = pLimit(20);
    const results = await Promise.all(
      keys.map((key) =>
        limit(async () => {
          const replicated = await waitFor(`${key} replicated`, () => observe(p, key), {
            timeoutMs: WAIT_MS,
            intervalMs: 200,
            // A key gone from Redis was written first, so its item must be a tombstone, not merely absent.
            accept: (o) => o.cls === 'match' && (o.redis.value !== null || o.item?.deleted === true),
          }).catch((err: Error) => err);
          return replicated instanceof Error
            ? { key, error: replicated.message, deleted: false }
            : { key, error: null, deleted: replicated.item?.deleted === true };
        }),
      ),
    );
    const failures = results.flatMap((r) => (r.error === null ? [] : [r.error]));
    expect(failures, 'keys not replicated').toEqual([]);
    const tombstones = results.filter((r) => r.deleted).length;
    expect(tombstones, 'evicted keys as tombstones').toBeGreaterThan(0);
    expect(await Metrics.total(p.metrics.captureNotifications, { event: 'evicted' })).toBeGreaterThan(0);
  });
});

describe('zset scores DynamoDB numbers cannot hold (1e300, 5e-324)', () => {
  // Its own Redis server: an event the applier cannot write could stall its partition, and must not stall
  // the suites above.
  let server: TestRedisServer;
  let p: Pipeline;

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
    p = await startPipeline(testConfig({ REDIS_URL: server.url, REDIS_DB: '0' }));
  });

  afterAll(async () => {
    await p?.close();
    await server?.stop();
  });

  it('a zset with extreme finite scores is replicated', async () => {
    const key = `${p.config.sourceId}:extreme`;
    await p.redis.call('ZADD', key, '1e300', 'huge', '5e-324', 'tiny', '-1.7976931348623157e308', 'min');
    await expectReplicated(p, [key]);
  });

  it('other keys written after it still replicate', async () => {
    const keys = Array.from({ length: 12 }, (_, i) => `${p.config.sourceId}:after-extreme:${i}`);
    for (const key of keys) await p.redis.set(key, 'v');
    await expectReplicated(p, keys);
  });

  it('the applier moves past it: the group commits up to the end of every partition', async () => {
    // Items alone do not show a stuck partition: writes of other keys in a failing batch still land. The
    // committed offsets do: an event that can never be written must be dead-lettered (or otherwise settled),
    // not retried forever with the consumer restarting.
    const admin = createKafka(p.config.require('kafka').kafka, createLogger('error')).admin();
    await admin.connect();
    try {
      const lagging = async () => {
        const ends = await admin.fetchTopicOffsets(p.config.topic);
        const [committed] = await admin.fetchOffsets({
          groupId: p.config.applierGroup,
          topics: [p.config.topic],
        });
        return ends
          .map((end) => {
            const done = committed?.partitions.find((c) => c.partition === end.partition)?.offset ?? '-1';
            return { partition: end.partition, end: end.high, committed: done };
          })
          .filter((x) => x.committed !== x.end);
      };
      await waitFor('the applier group to commit every partition to its end', lagging, {
        timeoutMs: WAIT_MS,
        intervalMs: 500,
        accept: (l) => l.length === 0,
      });
    } finally {
      await admin.disconnect();
    }
  });
});
