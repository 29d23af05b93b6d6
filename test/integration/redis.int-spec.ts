import { splitVersion } from '@cdc/contracts';
import {
  createRedisClient,
  EPOCH_MARKER_KEY,
  type RedisConnection,
  ensureNotifications,
  type KeyState,
  KeyeventSubscriber,
  missingClasses,
  NotificationsOffError,
  REQUIRED_EVENT_CLASSES,
  VERSION_COUNTER_KEY,
  VersionedReader,
} from '@cdc/redis';
import { startRedisServer, testConfig, type TestRedisServer, uniqueId, waitFor } from '@cdc/testing';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The Redis adapter on real redis-servers: the shared one of the stack (own logical DB, unique key prefixes)
 * for reads, and private ones (own port) for what needs a restart or a different server configuration.
 */

const REDIS_DB = 6;
const BIN = Buffer.from([0xff, 0x00]);
const hex = (b: Buffer) => b.toString('hex');

/** Per-file prefix; binary keys get the 0xff 0x00 bytes in the middle and a readable suffix. */
const prefix = uniqueId('redis_int');
const binKey = (name: string) => Buffer.concat([Buffer.from(`${prefix}:`), BIN, Buffer.from(`:${name}`)]);

const closeAll: Array<() => Promise<unknown> | void> = [];
afterAll(async () => {
  for (const close of closeAll.reverse()) await close();
});

function client(cfg: RedisConnection, name: string): Redis {
  const c = createRedisClient(cfg, name);
  closeAll.push(() => c.disconnect());
  return c;
}

async function privateServer(args: string[] = []): Promise<TestRedisServer> {
  const server = await startRedisServer({ args });
  closeAll.push(() => server.stop());
  return server;
}

describe('VersionedReader on the shared Redis', () => {
  const cfg = testConfig({ REDIS_DB: String(REDIS_DB) }).require('redis').redis;
  let redis: Redis;
  let reader: VersionedReader;

  beforeAll(async () => {
    redis = client(cfg, 'int-redis-reader');
    await redis.connect();
    reader = new VersionedReader(redis);
  });

  const one = async (key: Buffer, bump = true): Promise<KeyState> => {
    const [state] = await reader.read([key], bump);
    if (!state) throw new Error('no state returned');
    return state;
  };

  it('reads every carried type exactly, binary-safe', async () => {
    const value = Buffer.concat([Buffer.from('v'), BIN, Buffer.from([0x80, 0xfe]), Buffer.from('end')]);
    const keys = {
      string: binKey('string'),
      hash: binKey('hash'),
      list: binKey('list'),
      set: binKey('set'),
      zset: binKey('zset'),
    };
    await redis.set(keys.string, value);
    await redis.hset(keys.hash, Buffer.concat([Buffer.from('f1'), BIN]), value, 'f2', 'plain');
    await redis.rpush(keys.list, value, 'second', BIN, 'second'); // order and duplicates matter
    await redis.sadd(keys.set, value, 'm2', BIN);
    await redis.zadd(keys.zset, '2.5', value, '-1', 'low', '+inf', BIN, '0', 'zero');

    const states = await reader.read(Object.values(keys));
    expect(states.map((s) => s.type)).toEqual(['string', 'hash', 'list', 'set', 'zset']);
    const [str, hash, list, set, zset] = states as [KeyState, KeyState, KeyState, KeyState, KeyState];

    expect(hex(str.key)).toBe(hex(keys.string));
    expect(str.value).toEqual({ type: 'string', data: value });

    expect(hash.value?.type).toBe('hash');
    const fields = hash.value?.type === 'hash' ? hash.value.fields : [];
    expect(new Map(fields.map(([f, v]) => [hex(f), hex(v)]))).toEqual(
      new Map([
        [hex(Buffer.concat([Buffer.from('f1'), BIN])), hex(value)],
        [hex(Buffer.from('f2')), hex(Buffer.from('plain'))],
      ]),
    );

    expect(list.value).toEqual({
      type: 'list',
      items: [value, Buffer.from('second'), BIN, Buffer.from('second')],
    });

    expect(set.value?.type).toBe('set');
    const members = set.value?.type === 'set' ? set.value.members : [];
    expect(members.map(hex).sort()).toEqual([value, Buffer.from('m2'), BIN].map(hex).sort());

    // ZRANGE order is by score; +inf comes back as Infinity.
    expect(zset.value).toEqual({
      type: 'zset',
      members: [
        [Buffer.from('low'), -1],
        [Buffer.from('zero'), 0],
        [value, 2.5],
        [BIN, Infinity],
      ],
    });
    for (const s of states) expect(s.expireAtMs).toBeNull();
  });

  it('reports the TTL as an absolute expireAtMs', async () => {
    const key = binKey('ttl');
    const ttlMs = 120_000;
    await redis.set(key, 'x', 'PX', ttlMs);
    const before = Date.now();
    const state = await one(key);
    const after = Date.now();
    expect(state.type).toBe('string');
    expect(state.expireAtMs).not.toBeNull();
    const expireAt = state.expireAtMs as number;
    // Relative to the server clock at the read: at most the TTL, and only the time since SET less.
    expect(expireAt - state.readAtMs).toBeLessThanOrEqual(ttlMs);
    expect(expireAt - state.readAtMs).toBeGreaterThan(ttlMs - 5_000);
    // Same machine: the server clock and ours agree, so expireAt is now + ttl.
    expect(expireAt).toBeGreaterThan(before + ttlMs - 5_000);
    expect(expireAt).toBeLessThanOrEqual(after + ttlMs + 1_000);
  });

  it('a missing key reads as type none; a stream as type stream with no value', async () => {
    const missing = await one(binKey('missing'));
    expect(missing).toMatchObject({ type: 'none', value: null, expireAtMs: null });

    const stream = binKey('stream');
    await redis.xadd(stream, '*', 'field', 'value');
    const s = await one(stream);
    expect(s.type).toBe('stream');
    expect(s.value).toBeNull();
  });

  it('versions strictly increase for repeated reads of one key, within and across pipelines', async () => {
    const key = binKey('repeat');
    await redis.set(key, '1');
    const seen: bigint[] = [];
    for (let round = 0; round < 20; round++) {
      // The same key three times in one pipeline, too.
      for (const s of await reader.read([key, key, key])) seen.push(s.version);
    }
    for (let i = 1; i < seen.length; i++) expect(seen[i] as bigint).toBeGreaterThan(seen[i - 1] as bigint);
  });

  it('two readers on two connections reading concurrently never hand out the same version', async () => {
    const keys = ['c1', 'c2', '{tag}c3', '{tag}c4'].map(binKey);
    for (const k of keys) await redis.set(k, 'v');
    const conns = [client(cfg, 'int-redis-a'), client(cfg, 'int-redis-b')];
    await Promise.all(conns.map((c) => c.connect()));
    const readers = conns.map((c) => new VersionedReader(c));

    const perConn: Array<Map<string, bigint[]>> = readers.map(() => new Map());
    await Promise.all(
      readers.map(async (r, i) => {
        for (let round = 0; round < 40; round++) {
          // Every round in flight at once on this connection as well: pipelines interleave on the server.
          const batches = await Promise.all([r.read(keys), r.read([...keys].reverse())]);
          for (const s of batches.flat()) {
            const list = (perConn[i] as Map<string, bigint[]>).get(hex(s.key)) ?? [];
            list.push(s.version);
            (perConn[i] as Map<string, bigint[]>).set(hex(s.key), list);
          }
        }
      }),
    );

    const all: bigint[] = [];
    for (const m of perConn) {
      expect(m.size).toBe(keys.length);
      for (const versions of m.values()) {
        expect(versions).toHaveLength(80);
        // Per connection the replies come back in command order, so the versions grow.
        for (let j = 1; j < versions.length; j++)
          expect(versions[j] as bigint).toBeGreaterThan(versions[j - 1] as bigint);
        all.push(...versions);
      }
    }
    // One counter per database: no version is ever handed out twice, for any key.
    expect(all).toHaveLength(2 * keys.length * 80);
    expect(new Set(all.map(String)).size).toBe(all.length);
  });

  it('bump=false reads without writing the version key', async () => {
    const key = binKey('nobump');
    await redis.set(key, 'v');
    const bumped = await one(key, true);
    const vkey = VERSION_COUNTER_KEY;
    const stored = await redis.get(vkey);
    expect(stored).toBe(splitVersion(bumped.version).position.toString()); // bump=true does write it

    const peek = await one(key, false);
    expect(peek.type).toBe('string');
    expect(peek.value).toEqual({ type: 'string', data: Buffer.from('v') });
    expect(await redis.get(vkey)).toBe(stored);

    const next = await one(key, true);
    expect(next.version).toBeGreaterThan(bumped.version);
    expect(await redis.get(vkey)).toBe(splitVersion(next.version).position.toString());
  });
});

describe('VersionedReader across a Redis restart without persistence', () => {
  it('the first version after the restart is above every version before it', async () => {
    const server = await privateServer();
    const redis = client({ url: server.url, db: 0 }, 'int-redis-restart');
    await redis.connect();
    const reader = new VersionedReader(redis);
    const key = binKey('restart');
    await redis.set(key, 'before');

    // Push the counter ahead of the clock a little: many reads in one pipeline.
    const before = await reader.read(Array.from({ length: 500 }, () => key));
    const maxBefore = before.reduce((m, s) => (s.version > m ? s.version : m), 0n);
    expect(await redis.get(VERSION_COUNTER_KEY)).toBe(splitVersion(maxBefore).position.toString());

    const oldPid = server.pid;
    await server.restart();
    expect(server.pid).not.toBe(oldPid);

    // The restart lost everything (no RDB, no AOF): the key and its counter are gone.
    await waitFor('reconnect after restart', async () =>
      (await redis.ping()) === 'PONG' ? true : undefined,
    );
    expect(await redis.exists(key)).toBe(0);
    expect(await redis.get(VERSION_COUNTER_KEY)).toBeNull();
    expect(await redis.get(EPOCH_MARKER_KEY)).toBeNull();

    await redis.set(key, 'after');
    const [after] = await reader.read([key]);
    expect(after?.value).toEqual({ type: 'string', data: Buffer.from('after') });
    expect(after?.version).toBeGreaterThan(maxBefore);
    // The epoch the restart forced, not the clock alone, is what puts it above.
    expect(splitVersion(after?.version ?? 0n).epoch).toBeGreaterThan(splitVersion(maxBefore).epoch);
  });
});

describe('ensureNotifications', () => {
  it('enables the event classes capture needs when they are off', async () => {
    const server = await privateServer(['--notify-keyspace-events', '']);
    const redis = client({ url: server.url, db: 0 }, 'int-redis-notify');
    await redis.connect();
    const [, initial] = (await redis.config('GET', 'notify-keyspace-events')) as [string, string];
    expect(initial).toBe('');

    const effective = await ensureNotifications(redis);
    expect(missingClasses(effective)).toBe('');

    const [, now] = (await redis.config('GET', 'notify-keyspace-events')) as [string, string];
    expect(now).toContain('E');
    expect(missingClasses(now)).toBe('');
    const classes = now.includes('A') ? 'g$lshzxet' : now;
    for (const c of REQUIRED_EVENT_CLASSES.replace('E', '')) expect(classes).toContain(c);

    // Idempotent, and the server really publishes now.
    expect(missingClasses(await ensureNotifications(redis))).toBe('');
    const sub = new KeyeventSubscriber(client({ url: server.url, db: 0 }, 'int-redis-notify-sub'), 0);
    const got: string[] = [];
    await sub.start(
      (event, key) => got.push(`${event} ${key.toString()}`),
      () => undefined,
    );
    try {
      await redis.set('probe', '1');
      await waitFor('set notification', () => (got.includes('set probe') ? true : undefined));
    } finally {
      await sub.stop();
    }
  });

  it('rejects with a NotificationsOffError naming the setting when CONFIG is disabled (managed Redis)', async () => {
    const server = await privateServer(['--notify-keyspace-events', '', '--rename-command', 'CONFIG', '']);
    const redis = client({ url: server.url, db: 0 }, 'int-redis-noconfig');
    await redis.connect();
    await expect(redis.config('GET', 'notify-keyspace-events')).rejects.toThrow(/unknown command/i);

    const err = await ensureNotifications(redis).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(NotificationsOffError);
    expect((err as Error).message).toContain('notify-keyspace-events');
    expect((err as Error).message).toContain('KEA');
    expect((err as NotificationsOffError).checkable).toBe(false); // CONFIG disabled: probe instead
  });
});

describe('KeyeventSubscriber', () => {
  it('delivers (event, key) for SET, HSET, DEL, EXPIRE and expiry, binary keys intact, only for its DB', async () => {
    const server = await privateServer(['--notify-keyspace-events', 'KEA']);
    const db = 3;
    const writer = client({ url: server.url, db }, 'int-redis-events-writer');
    const otherDb = client({ url: server.url, db: 4 }, 'int-redis-events-other');
    await Promise.all([writer.connect(), otherDb.connect()]);

    const got: Array<{ event: string; key: string }> = [];
    const subscribed: number[] = [];
    const sub = new KeyeventSubscriber(
      createRedisClient({ url: server.url, db }, 'int-redis-events-sub'),
      db,
    );
    closeAll.push(() => sub.stop());
    await sub.start(
      (event, key) => got.push({ event, key: hex(key) }),
      (n) => subscribed.push(n),
    );
    expect(subscribed).toEqual([1]);

    const s = binKey('ev-string');
    const h = binKey('ev-hash');
    const e = binKey('ev-expire');
    const x = binKey('ev-expired');
    const sentinel = binKey('ev-sentinel');
    await otherDb.set(binKey('other-db'), 'not mine'); // another DB: must not reach this subscriber
    await writer.set(s, 'v');
    await writer.hset(h, 'f', 'v');
    await writer.del(s);
    await writer.set(e, 'v');
    await writer.expire(e, 3600);
    await writer.set(x, 'v', 'PX', 1);
    await writer.set(sentinel, 'done');

    await waitFor('sentinel notification', () =>
      got.some((g) => g.key === hex(sentinel)) ? true : undefined,
    );
    expect(got.slice(0, 8)).toEqual([
      { event: 'set', key: hex(s) },
      { event: 'hset', key: hex(h) },
      { event: 'del', key: hex(s) },
      { event: 'set', key: hex(e) },
      { event: 'expire', key: hex(e) },
      { event: 'set', key: hex(x) },
      { event: 'expire', key: hex(x) }, // SET ... PX emits set, then expire
      { event: 'set', key: hex(sentinel) },
    ]);
    expect(got.some((g) => g.key === hex(binKey('other-db')))).toBe(false);

    // The 1 ms TTL runs out: the server's expiry (active cycle or the next access) emits `expired`.
    await waitFor(
      'expired notification',
      async () => {
        await writer.exists(x); // an access expires it lazily if the active cycle has not yet
        return got.some((g) => g.event === 'expired' && g.key === hex(x)) ? true : undefined;
      },
      { intervalMs: 100 },
    );
  });
});

/** A private redis-server, a writer on it, and a started KeyeventSubscriber reading every `pauseMs`. */
async function pacedSubscriber(
  name: string,
  pauseMs: number,
  onKey: (key: Buffer) => void,
  onSubscribed: (count: number) => void = () => undefined,
): Promise<{ server: TestRedisServer; writer: Redis; subClient: Redis; sub: KeyeventSubscriber }> {
  const server = await privateServer(['--notify-keyspace-events', 'KEA']);
  const writer = client({ url: server.url, db: 0 }, `int-redis-${name}-writer`);
  await writer.connect();
  const subClient = createRedisClient({ url: server.url, db: 0 }, `int-redis-${name}-sub`);
  const sub = new KeyeventSubscriber(subClient, 0, pauseMs);
  closeAll.push(() => sub.stop());
  await sub.start((_event, key) => onKey(key), onSubscribed);
  return { server, writer, subClient, sub };
}

describe('KeyeventSubscriber with paced reads', () => {
  it('delivers every notification of a burst, and keeps pacing the new socket after a reconnect', async () => {
    const got: string[] = [];
    const subscribed: number[] = [];
    // 20 ms between socket reads: far longer than the burst's own gaps, so the burst arrives in a few reads.
    const { server, writer, subClient, sub } = await pacedSubscriber(
      'paced',
      20,
      (key) => got.push(key.toString()),
      (n) => subscribed.push(n),
    );
    const stream = (subClient as unknown as { stream: NodeJS.ReadableStream }).stream;
    let reads = 0;
    stream.on('data', () => reads++);

    // Like an application: connections each awaiting their own SETs, so Redis' event loop publishes many
    // small chunks (a pipelined burst would come in a few big ones even unpaced).
    const writers = Array.from({ length: 8 }, (_, i) =>
      client({ url: server.url, db: 0 }, `int-redis-paced-w${i}`),
    );
    await Promise.all(writers.map((w) => w.connect()));
    const burst = async (tag: string, n: number) => {
      let next = 0;
      await Promise.all(
        writers.map(async (w) => {
          while (next < n) await w.set(`paced:${tag}:${next++}`, 'v');
        }),
      );
    };
    let started = performance.now();
    await burst('a', 5_000);
    await waitFor('5,000 notifications', () => (got.length >= 5_000 ? true : undefined));
    expect(new Set(got)).toEqual(new Set(Array.from({ length: 5_000 }, (_, i) => `paced:a:${i}`)));
    // Paced, a read happens at most every 20 ms while the burst lasts (unpaced: one per event-loop round).
    const maxReads = (ms: number) => Math.ceil(ms / 20) + 5;
    expect(reads).toBeLessThanOrEqual(maxReads(performance.now() - started));

    // A killed connection: ioredis reconnects on a new socket, which must be read (and paced) too.
    await writer.client('KILL', 'TYPE', 'pubsub');
    await waitFor('resubscribed', () => (subscribed.length >= 2 ? true : undefined));
    const next = (subClient as unknown as { stream: NodeJS.ReadableStream }).stream;
    expect(next).not.toBe(stream);
    let nextReads = 0;
    next.on('data', () => nextReads++);
    got.length = 0;
    started = performance.now();
    await burst('b', 5_000);
    await waitFor('5,000 notifications after the reconnect', () => (got.length >= 5_000 ? true : undefined));
    expect(new Set(got)).toEqual(new Set(Array.from({ length: 5_000 }, (_, i) => `paced:b:${i}`)));
    expect(nextReads).toBeLessThanOrEqual(maxReads(performance.now() - started));

    // stop() right after a burst, while the socket is paused: the PUNSUBSCRIBE reply must still be read.
    await burst('c', 2_000);
    const outcome = await Promise.race([
      sub.stop().then(() => 'stopped'),
      new Promise((r) => setTimeout(() => r('hung'), 5_000)),
    ]);
    expect(outcome).toBe('stopped');
  });
});

describe('KeyeventSubscriber pacing under sustained load', () => {
  it('delivers each notification within about one pause, however long the load lasts', async () => {
    const delays: number[] = [];
    // The key carries the time it was written, so each delivery's delay is known.
    const { writer } = await pacedSubscriber('lag', 20, (key) =>
      delays.push(performance.now() - Number(key.toString().split(':')[1])),
    );
    // ~3k SET/s for 1.5 s, each awaited alone: many small pushes, more of them per pause than one.
    const until = performance.now() + 1_500;
    let sent = 0;
    while (performance.now() < until) {
      await Promise.all(
        Array.from({ length: 3 }, () => writer.set(`lag:${performance.now()}:${sent++}`, 'v')),
      );
      await new Promise((r) => setTimeout(r, 1));
    }
    await waitFor('every notification', () => (delays.length >= sent ? true : undefined));
    delays.sort((a, b) => a - b);
    // One 20 ms pause plus scheduling slack; a backlog that grew with the load would be hundreds of ms.
    expect(delays[Math.floor(delays.length * 0.99)]).toBeLessThan(100);
  });
});

describe('KeyeventSubscriber pacing and the kernel', () => {
  it('stops reading the socket while paused, and delivers everything held back at the next read', async () => {
    const got: string[] = [];
    const { writer, subClient } = await pacedSubscriber('hold', 400, (key) => got.push(key.toString()));
    const socket = (subClient as unknown as { stream: { bytesRead: number } }).stream;

    await writer.set('hold:first', 'v'); // a quiet channel: read at once, then a 400 ms pause begins
    await waitFor('the first notification', () => (got.includes('hold:first') ? true : undefined));
    const before = socket.bytesRead;
    for (let i = 0; i < 300; i++) await writer.set(`hold:${i}`, 'v'); // ~20 KB of pushes, one at a time
    const readMeanwhile = socket.bytesRead - before;
    // At most the one chunk that found the socket paused; Node's default 16 KiB mark would have read on.
    expect(readMeanwhile).toBeLessThan(2_000);
    await waitFor('the held-back notifications', () => (got.length >= 301 ? true : undefined));
    expect(got.slice(1)).toEqual(Array.from({ length: 300 }, (_, i) => `hold:${i}`));
  });
});
