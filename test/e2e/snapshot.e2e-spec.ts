import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule, runSnapshot, type ScanCheckpoint } from '@cdc/capture';
import { createLogger, Metrics } from '@cdc/observability';
import { createRedisClient } from '@cdc/redis';
import {
  bootPipeline,
  engines,
  expectReplicated,
  testConfig,
  versionRegressions,
  waitFor,
  watchItemHistory,
  exited,
} from '@cdc/testing';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const DB = '5';

describe('cdc snapshot', () => {
  let app: INestApplicationContext | undefined;
  let redis: Redis | undefined;
  const home = mkdtempSync(join(tmpdir(), 'cdc-snapshot-'));

  afterEach(async () => {
    await app?.close();
    app = undefined;
    redis?.disconnect();
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  it('resumes from its checkpoint after kill -9 and backfills every key (origin=snapshot)', async () => {
    const config = testConfig({ REDIS_DB: DB });
    redis = createRedisClient(config.require('redis').redis, 'snapshot-loader');
    await redis.connect();
    const keys = Array.from({ length: 1_500 }, (_, i) => `${config.sourceId}:k:${i}`);
    const tx = redis.pipeline();
    keys.forEach((k, i) => (i % 2 ? tx.set(k, `v${i}`) : tx.hset(k, { n: String(i) })));
    await tx.exec();

    const e = engines();
    const env = {
      ...process.env,
      CDC_HOME: home,
      REDIS_URL: e.redisUrl,
      KAFKA_BROKERS: e.kafkaBrokers,
      DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
      REDIS_DB: DB,
      CDC_SOURCE_ID: config.sourceId,
      CDC_TOPIC_PARTITIONS: '3',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
    };
    const cli = join(ROOT, 'bin', 'cdc.js');
    const args = [cli, 'snapshot', '--match', `${config.sourceId}:*`, '--json'];
    const checkpointFile = join(home, 'snapshot', `${config.sourceId}.json`);

    const first = spawn(process.execPath, [...args, '--rate', '400'], { env, stdio: 'ignore' });
    const partial = await waitFor(
      'a checkpoint past 400 keys',
      () =>
        existsSync(checkpointFile)
          ? (JSON.parse(readFileSync(checkpointFile, 'utf8')) as ScanCheckpoint)
          : undefined,
      { accept: (c) => c.scanned >= 400, timeoutMs: 60_000 },
    );
    first.kill('SIGKILL');
    await exited(first);
    expect(partial.scanned).toBeLessThan(keys.length);
    expect(partial.cursor).not.toBe('0');

    let out = '';
    const second = spawn(process.execPath, [...args, '--resume'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    second.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    expect(await exited(second)).toBe(0);
    const summary = JSON.parse(out) as { completed: boolean; resumed: boolean; scanned: number };
    expect(summary).toMatchObject({ completed: true, resumed: true });
    expect(summary.scanned).toBeGreaterThanOrEqual(keys.length); // SCAN may repeat a key, never skip one
    expect(existsSync(checkpointFile)).toBe(false);

    ({ app } = await bootPipeline(config, [ApplierModule]));
    // Late in a full run DynamoDB Local has served dozens of stream tables and is slow: wait generously.
    const items = await expectReplicated(config, redis, keys, { timeoutMs: 180_000 });
    expect(new Set(items.map((i) => i?.origin))).toEqual(new Set(['snapshot']));
  }, 300_000);

  it('run during live traffic, never moves an item backwards', async () => {
    const config = testConfig({ REDIS_DB: DB });
    redis = createRedisClient(config.require('redis').redis, 'snapshot-traffic');
    await redis.connect();
    const keys = Array.from({ length: 200 }, (_, i) => `${config.sourceId}:c:${i}`);
    for (const k of keys) await redis.set(k, '0');
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));

    // Watch every image the table takes, from its stream.
    const history = await watchItemHistory(config);

    // Writers increment counters while a (rate-limited) snapshot of the same keys runs; the windows are
    // recorded so the test shows the two really overlapped.
    const window = { writesFrom: 0, writesTo: 0, snapshotFrom: 0, snapshotTo: 0 };
    let writes = 0;
    let snapshotMayStart: () => void = () => undefined;
    const warmedUp = new Promise<void>((resolve) => (snapshotMayStart = resolve));
    window.writesFrom = Date.now();
    const writers = [0, 1].map(async (w) => {
      for (let i = 0; i < 600; i++) {
        await redis?.incr(keys[(i * 7 + w) % keys.length] as string);
        if (++writes === 100) snapshotMayStart();
      }
      window.writesTo = Date.now();
    });
    const snapshot = warmedUp.then(async () => {
      window.snapshotFrom = Date.now();
      const result = await runSnapshot(config, new Metrics({ defaultMetrics: false }), createLogger('warn'), {
        rate: 400,
        resume: false,
        match: `${config.sourceId}:c:*`,
        checkpointFile: join(home, 'live', `${config.sourceId}.json`),
      });
      window.snapshotTo = Date.now();
      return result;
    });
    const [summary] = await Promise.all([snapshot, ...writers]);
    expect(window.snapshotFrom).toBeLessThan(window.writesTo); // started while writes went on
    expect(summary.completed).toBe(true);

    await expectReplicated(config, redis, keys);
    await new Promise((r) => setTimeout(r, 1_000)); // let the stream reader catch up with the last writes
    await history.stop();
    expect(versionRegressions(history)).toEqual([]);
    let checked = 0;
    for (const states of history.byKey.values()) {
      const values = states.map((st) =>
        st.value?.type === 'string' ? Number(st.value.data.toString()) : -1,
      );
      for (let i = 1; i < values.length; i++) {
        expect(values[i], 'a counter value went backwards').toBeGreaterThanOrEqual(values[i - 1] as number);
        checked++;
      }
    }
    expect(checked).toBeGreaterThan(0);
  });
});
