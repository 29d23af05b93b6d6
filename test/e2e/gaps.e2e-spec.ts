import { ApplierModule } from '@cdc/applier';
import { CaptureModule, CaptureService, type GapCause } from '@cdc/capture';
import type { CdcConfig } from '@cdc/config';
import { createRedisClient } from '@cdc/redis';
import {
  bootPipeline,
  expectReplicated,
  startRedisServer,
  testConfig,
  type TestRedisServer,
  waitFor,
} from '@cdc/testing';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

/**
 * Design invariant 5: notifications can be lost. Each test causes one kind of gap FOR REAL on a private
 * redis-server, writes keys whose notifications are lost in it, and checks that capture detects the gap (with its
 * cause) and that the reconciliation scan heals it: every key that exists in Redis matches its DynamoDB item.
 */
describe('capture: gap detection and healing', () => {
  let server: TestRedisServer;
  let config: CdcConfig;
  let app: INestApplicationContext | undefined;
  let writer: Redis;

  beforeAll(async () => {
    server = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
  });

  afterAll(async () => {
    await server?.stop();
  });

  async function boot(): Promise<CaptureService> {
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    return app.get(CaptureService);
  }

  async function connect(): Promise<void> {
    config = testConfig({
      REDIS_URL: server.url,
      CDC_HEARTBEAT_INTERVAL_MS: '200',
      CDC_HEARTBEAT_TIMEOUT_MS: '1500',
      CDC_TOPIC_PARTITIONS: '2',
    });
    writer = createRedisClient(config.require('redis').redis, 'gap-writer');
    await writer.connect();
  }

  afterEach(async () => {
    await app?.close();
    app = undefined;
    writer?.disconnect();
  });

  async function expectGap(capture: CaptureService, cause: GapCause | GapCause[]): Promise<void> {
    const causes = Array.isArray(cause) ? cause : [cause];
    await waitFor(`a ${causes.join(' or ')} gap`, () =>
      capture.detectedGaps.find((g) => causes.includes(g.cause)),
    );
  }

  /** Every key that exists in Redis has an item equal to it (and every given key is checked). */
  const expectHealed = async (keys: string[]) => {
    await expectReplicated(config, writer, keys, { timeoutMs: 30_000 });
  };

  const keysOf = (prefix: string, n: number) => Array.from({ length: n }, (_, i) => `${prefix}:${i}`);

  it('CLIENT KILL TYPE pubsub: writes in the same transaction lose their notifications; reconnect is detected and healed', async () => {
    await connect();
    const capture = await boot();
    const keys = keysOf(`${config.sourceId}:kill`, 50);
    // Atomic: the subscriber is gone before these writes publish anything, so their notifications are lost.
    const tx = writer.multi().client('KILL', 'TYPE', 'pubsub');
    for (const k of keys) tx.set(k, `v-${k}`);
    await tx.exec();
    await expectGap(capture, 'reconnect');
    expect(capture.detectedGaps.map((g) => g.cause)).toContain('reconnect');
    await expectHealed(keys);
  });

  it('client-output-buffer-limit pubsub: the subscriber is dropped under a burst; detected and healed', async () => {
    await connect();
    const capture = await boot();
    await writer.config('SET', 'client-output-buffer-limit', 'pubsub 1024 0 0');
    try {
      const keys = keysOf(`${config.sourceId}:obl:${'x'.repeat(200)}`, 200);
      const tx = writer.multi();
      for (const k of keys) tx.set(k, 'v');
      await tx.exec(); // ~200 notifications of 250+ bytes each overflow 1 KiB at once
      // Redis 7.2+ counts these disconnections (cause output-buffer-limit); 7.0 cannot tell them from a reconnect.
      await expectGap(capture, ['output-buffer-limit', 'reconnect']);
      await writer.config('SET', 'client-output-buffer-limit', 'pubsub 33554432 8388608 60');
      await expectHealed(keys);
    } finally {
      await writer.config('SET', 'client-output-buffer-limit', 'pubsub 33554432 8388608 60');
    }
  });

  it('notifications switched off: the heartbeat does not come back; detected, re-enabled and healed', async () => {
    await connect();
    const capture = await boot();
    await writer.config('SET', 'notify-keyspace-events', '');
    const keys = keysOf(`${config.sourceId}:silent`, 30);
    for (const k of keys) await writer.hset(k, { f: k });
    await expectGap(capture, 'heartbeat-timeout');
    // Capture records the gap, then re-enables the setting asynchronously: wait for that effect.
    const flags = await waitFor(
      'notifications re-enabled by capture',
      async () => ((await writer.config('GET', 'notify-keyspace-events')) as string[])[1],
      { accept: (f) => f.includes('E') },
    );
    expect(flags).toContain('E');
    await expectHealed(keys);
  });

  it('FLUSHDB and FLUSHALL emit no per-key events: detected, and keys written around them are healed', async () => {
    await connect();
    const capture = await boot();
    await writer.set(`${config.sourceId}:before`, '1');
    await expectHealed([`${config.sourceId}:before`]);
    await writer.flushdb();
    await expectGap(capture, 'flushdb');
    await writer.flushall();
    await expectGap(capture, 'flushall');
    const after = keysOf(`${config.sourceId}:after-flush`, 10);
    for (const k of after) await writer.rpush(k, 'a', 'b');
    await expectHealed(after);
  });

  it('SWAPDB brings a whole other keyspace in without events: detected and replicated', async () => {
    await connect();
    const capture = await boot();
    const other = createRedisClient({ ...config.require('redis').redis, db: 9 }, 'gap-other-db');
    await other.connect();
    const keys = keysOf(`${config.sourceId}:swapped`, 20);
    for (const k of keys) await other.sadd(k, 'm1', 'm2');
    other.disconnect();
    await writer.swapdb(config.require('redis').redis.db, 9);
    await expectGap(capture, 'swapdb');
    await expectHealed(keys);
  });

  it('capture downtime: writes while no capture runs are found at the next start', async () => {
    await connect();
    await boot();
    await app?.close();
    app = undefined;
    const keys = keysOf(`${config.sourceId}:down`, 25);
    for (const k of keys) await writer.zadd(k, 1, 'a', 2, 'b');
    await new Promise((r) => setTimeout(r, 2_500)); // longer than 2 heartbeats + the timeout: a real outage
    const capture = await boot();
    await expectGap(capture, 'downtime');
    await expectHealed(keys);
  });
});
