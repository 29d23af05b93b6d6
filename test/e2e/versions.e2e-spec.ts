import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import type { CdcConfig } from '@cdc/config';
import { createRedisClient, VersionedReader } from '@cdc/redis';
import {
  bootPipeline,
  expectReplicated,
  readItem,
  startRedisServer,
  testConfig,
  versionRegressions,
  waitFor,
  watchItemHistory,
} from '@cdc/testing';
import fc from 'fast-check';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterEach, describe, expect, it } from 'vitest';

/** Design invariant 1: for two reads of the same key, the later read has the larger version, whatever happens. */
describe('versions only grow', () => {
  const apps: INestApplicationContext[] = [];
  const clients: Redis[] = [];

  afterEach(async () => {
    for (const app of apps.splice(0)) await app.close();
    for (const c of clients.splice(0)) c.disconnect();
  });

  async function redisFor(config: CdcConfig, name: string): Promise<Redis> {
    const r = createRedisClient(config.require('redis').redis, name);
    await r.connect();
    clients.push(r);
    return r;
  }

  it('two capture instances and concurrent writers: every key only moves forward, and ends equal to Redis', async () => {
    const config = testConfig({ REDIS_DB: '7' });
    apps.push((await bootPipeline(config, [ApplierModule, CaptureModule])).app);
    apps.push((await bootPipeline(config, [CaptureModule])).app); // a second capture of the same source
    const history = await watchItemHistory(config);
    const keys = Array.from({ length: 40 }, (_, i) => `${config.sourceId}:n:${i}`);
    const writers = await Promise.all([0, 1, 2].map((w) => redisFor(config, `writer-${w}`)));
    await Promise.all(
      writers.map(async (w, wi) => {
        for (let i = 0; i < 400; i++) await w.incr(keys[(i * 13 + wi * 7) % keys.length] as string);
      }),
    );
    const redis = writers[0] as Redis;
    await expectReplicated(config, redis, keys);
    await new Promise((r) => setTimeout(r, 1_000)); // the stream reader catches up with the last images
    await history.stop();
    expect(versionRegressions(history)).toEqual([]);
    const counters = [...history.byKey.values()].map((s) =>
      s.map((x) => Number(x.value?.type === 'string' ? x.value.data.toString() : -1)),
    );
    for (const values of counters) expect(values).toEqual([...values].sort((a, b) => a - b));
    expect(counters.flat().length).toBeGreaterThan(keys.length);
  });

  it('a Redis restart without persistence: the next version is still larger, so the new write is applied, not dropped as stale', async () => {
    const server = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
    try {
      const config = testConfig({ REDIS_URL: server.url, CDC_HEARTBEAT_INTERVAL_MS: '200' });
      apps.push((await bootPipeline(config, [ApplierModule, CaptureModule])).app);
      const key = `${config.sourceId}:restart`;
      const before = await redisFor(config, 'before');
      await before.set(key, 'before restart');
      const v1 = await waitFor('the first item', () => readItem(config, key));
      await server.restart(); // no RDB, no AOF: the data and the version counters are gone
      const after = await redisFor(config, 'after');
      await after.set(key, 'after restart');
      const v2 = await waitFor('the post-restart write', () => readItem(config, key), {
        accept: (s) => s.value?.type === 'string' && s.value.data.toString() === 'after restart',
        timeoutMs: 30_000,
      });
      expect(v2.version).toBeGreaterThan(v1.version);
    } finally {
      await server.stop();
    }
  });

  it('property: any interleaving of reads on two connections gives every key strictly increasing versions', async () => {
    const config = testConfig({ REDIS_DB: '7' });
    const [a, b] = [await redisFor(config, 'prop-a'), await redisFor(config, 'prop-b')];
    const readers = [new VersionedReader(a), new VersionedReader(b)];
    const keys = ['p:1', 'p:2', `{tag}p:3`, `{tag}p:4`].map((k) => Buffer.from(`${config.sourceId}:${k}`));
    const op = fc.record({
      reader: fc.integer({ min: 0, max: 1 }),
      key: fc.integer({ min: 0, max: keys.length - 1 }),
      write: fc.boolean(),
      batch: fc.integer({ min: 1, max: 3 }),
    });
    await fc.assert(
      fc.asyncProperty(fc.array(op, { minLength: 5, maxLength: 40 }), async (ops) => {
        const last = new Map<number, bigint>();
        for (const o of ops) {
          const key = keys[o.key] as Buffer;
          if (o.write) await a.append(key, 'x');
          // A batch of the same key in one pipeline must also come out strictly increasing.
          const states = await (readers[o.reader] as VersionedReader).read(
            Array.from({ length: o.batch }, () => key),
          );
          for (const s of states) {
            const prev = last.get(o.key);
            if (prev !== undefined) expect(s.version).toBeGreaterThan(prev);
            last.set(o.key, s.version);
          }
        }
      }),
      { numRuns: 25 },
    );
  });
});
