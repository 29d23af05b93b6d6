import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { DynamoDBClient, GetItemCommand, ScanCommand } from '@aws-sdk/client-dynamodb';
import { CaptureModule } from '@cdc/capture';
import { createRedisClient } from '@cdc/redis';
import { appEnv, bootPipeline, findFreePort, testConfig, waitFor } from '@cdc/testing';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const MAIN = join(ROOT, 'dist', 'apps', 'profiles-consumer', 'main.js');

/**
 * The example consumer app (apps/profiles-consumer) is a platform team's own deployable built on
 * ApplierModule.forRoot with a custom mapping. Run as its real process next to a live capture, it keeps its own
 * table in the team's shape: only user hashes, keyed by bare id, fields as attributes, deletes as tombstones.
 */
describe('example consumer app on ApplierModule.forRoot', () => {
  const config = testConfig({ REDIS_DB: '14', CDC_TOPIC_PARTITIONS: '2' });
  const table = `profiles_${config.sourceId}`;
  const dynamo = new DynamoDBClient({ region: 'us-east-1', endpoint: config.dynamo.endpoint });
  let capture: INestApplicationContext;
  let child: ChildProcess;
  let redis: Redis;
  let stderr = '';

  const profile = async (id: string) =>
    (
      await dynamo.send(
        new GetItemCommand({ TableName: table, Key: { pk: { S: id } }, ConsistentRead: true }),
      )
    ).Item;

  beforeAll(async () => {
    expect(existsSync(MAIN), `${MAIN} is missing: run \`npm run build\` first (npm install does it)`).toBe(
      true,
    );
    redis = createRedisClient(config.require('redis').redis, 'example-writer');
    await redis.connect();
    ({ app: capture } = await bootPipeline(config, [CaptureModule]));
    const port = await findFreePort();
    child = spawn(process.execPath, [MAIN], {
      env: appEnv(config, { PROFILES_TABLE: table, HTTP_PORT: port }),
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    await waitFor(
      'the example consumer to report up',
      async () => {
        if (child.exitCode !== null) throw new Error(`profiles-consumer exited ${child.exitCode}: ${stderr}`);
        const res = await fetch(`http://127.0.0.1:${port}/health`).catch(() => undefined);
        return res?.ok ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
  });

  afterAll(async () => {
    child?.kill('SIGTERM');
    await capture?.close();
    await redis?.quit();
    dynamo.destroy();
  });

  it('writes user hashes in the team shape, updates them, and tombstones deletes; other keys stay out', async () => {
    await redis.hset('user:7', { name: 'Ada', email: 'ada@example.com', plan: 'pro', password: 'x' });
    await redis.hset('user:8', { name: 'Grace' });
    await redis.set('session:7', 'not a profile');
    await redis.hset('user:7:settings', { theme: 'dark' });

    const ada = await waitFor('user 7 in the profiles table', () => profile('7'), { timeoutMs: 60_000 });
    expect(ada).toMatchObject({ pk: { S: '7' }, name: { S: 'Ada' }, email: { S: 'ada@example.com' } });
    expect(ada.password).toBeUndefined();
    expect(ada.val).toBeUndefined();
    const firstVersion = BigInt(ada.ver?.N ?? '0');
    expect(firstVersion).toBeGreaterThan(0n);

    await redis.hset('user:7', 'plan', 'enterprise');
    await redis.del('user:8');
    const updated = await waitFor(
      'the plan change',
      async () => ((await profile('7'))?.plan?.S === 'enterprise' ? profile('7') : undefined),
      { timeoutMs: 60_000 },
    );
    expect(BigInt(updated?.ver?.N ?? '0')).toBeGreaterThan(firstVersion);
    const grace = await waitFor(
      'user 8 tombstoned',
      async () => ((await profile('8'))?.deleted?.BOOL ? profile('8') : undefined),
      { timeoutMs: 60_000 },
    );
    expect(grace?.name).toBeUndefined();
    expect(Number(grace?.expireAt?.N)).toBeGreaterThan(Date.now() / 1000);

    const { Items } = await dynamo.send(new ScanCommand({ TableName: table, ConsistentRead: true }));
    expect((Items ?? []).map((i) => i.pk?.S).sort()).toEqual(['7', '8']);
  });
});
