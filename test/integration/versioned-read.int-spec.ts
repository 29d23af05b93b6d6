import { splitVersion } from '@cdc/contracts';
import {
  createRedisClient,
  KeyeventSubscriber,
  MAX_KEYS_PER_CALL,
  VERSION_COUNTER_KEY,
  VersionedReader,
  versionKeyFor,
} from '@cdc/redis';
import { startRedisServer, type TestRedisServer, waitFor } from '@cdc/testing';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The batched versioned read on a private redis-server (its counter must start missing, and FLUSHALL must not
 * touch anyone else's data): one counter write per script call, and no version below the per-slot counters
 * of the scheme it replaced.
 */

let server: TestRedisServer;
let redis: Redis;
let reader: VersionedReader;

beforeAll(async () => {
  server = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
  redis = createRedisClient({ url: server.url, db: 0 }, 'int-versioned-read');
  await redis.connect();
  reader = new VersionedReader(redis);
});

afterAll(async () => {
  redis?.disconnect();
  await server?.stop();
});

const maxOf = (vs: readonly bigint[]): bigint => vs.reduce((m, v) => (v > m ? v : m), 0n);

describe('VersionedReader (batched script)', () => {
  it('never versions below a per-slot counter of the old scheme, even one far ahead of the clock', async () => {
    await redis.flushall();
    const key = Buffer.from('old:scheme');
    await redis.set(key, 'v');
    // As if the clock had stepped back an hour since the old scheme last versioned this key's slot.
    const ahead = BigInt(Date.now() + 3_600_000) * 1000n;
    await redis.set(versionKeyFor(key), ahead.toString());
    const [state] = await reader.read([key]);
    expect(state?.version).toBeGreaterThan(ahead);
    // Upgrade in place: versions of the old scheme have no epoch (0), so any epoch raised now is above them.
    expect(BigInt((await redis.get(VERSION_COUNTER_KEY)) ?? '0')).toBe(
      splitVersion(state?.version ?? 0n).position,
    );
  });

  it('re-seeds after FLUSHALL and keeps growing', async () => {
    await redis.flushall(); // a counter pushed ahead of the clock by the test above would not survive this
    const key = Buffer.from('flushed');
    await redis.set(key, 'v');
    const [before] = await reader.read([key]);
    await redis.flushall();
    expect(await redis.exists(VERSION_COUNTER_KEY)).toBe(0);
    await redis.set(key, 'w');
    const [after] = await reader.read([key]);
    expect(after?.value).toEqual({ type: 'string', data: Buffer.from('w') });
    expect(after?.version).toBeGreaterThan(before?.version ?? 0n);
  });

  it('a batch over several script calls gets unique versions in read order, one counter write per call', async () => {
    const keys = Array.from({ length: MAX_KEYS_PER_CALL * 2 + 7 }, (_, i) => Buffer.from(`many:${i}`));
    await redis.mset(...keys.flatMap((k, i) => [k, String(i)]));
    await reader.read(keys.slice(0, 1)); // the counter exists before we count its writes
    const counterWrites: Buffer[] = [];
    const sub = new KeyeventSubscriber(createRedisClient({ url: server.url, db: 0 }, 'int-vr-sub'), 0);
    await sub.start(
      (event, key) => {
        if (event === 'set') counterWrites.push(key);
      },
      () => undefined,
    );
    try {
      const states = await reader.read(keys);
      expect(states.map((s) => s.value)).toEqual(
        keys.map((_, i) => ({ type: 'string', data: Buffer.from(String(i)) })),
      );
      for (let i = 1; i < states.length; i++)
        expect(states[i]?.version).toBeGreaterThan(states[i - 1]?.version ?? 0n);
      // Three calls, three SETs of the counter, whatever the number of keys read (notifications are ordered
      // on the one pub/sub connection, so a marker written after the read arrives after them).
      await redis.set('marker', '1');
      await waitFor('the marker notification', () =>
        counterWrites.some((k) => k.toString() === 'marker') ? true : undefined,
      );
      const counterSets = counterWrites.filter((k) => k.toString() === VERSION_COUNTER_KEY);
      expect(counterSets).toHaveLength(3);
      expect(BigInt((await redis.get(VERSION_COUNTER_KEY)) ?? '0')).toBe(
        splitVersion(maxOf(states.map((s) => s.version))).position,
      );
    } finally {
      await sub.stop();
    }
  });

  it('bump=false neither writes nor needs the counter', async () => {
    await redis.flushall();
    await redis.set('peek', 'v');
    const [state] = await reader.read([Buffer.from('peek')], false);
    expect(state?.value).toEqual({ type: 'string', data: Buffer.from('v') });
    expect(await redis.exists(VERSION_COUNTER_KEY)).toBe(0);
  });
});
