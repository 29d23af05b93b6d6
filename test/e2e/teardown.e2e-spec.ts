import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { createDynamoClient, tableSummary } from '@cdc/dynamo';
import { createKafka } from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { createRedisClient } from '@cdc/redis';
import {
  bootPipeline,
  exited,
  expectReplicated,
  startRedisServer,
  testConfig,
  type TestRedisServer,
  waitFor,
} from '@cdc/testing';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 13 item 10: `cdc teardown` on the real engines, after a short pipeline run. Redis is a private server
 * (the shared one holds other suites' sources, whose shared version keys teardown must keep); Kafka and
 * DynamoDB Local are the shared ones, where this source's names are unique.
 */
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'cdc.js');

interface PlanJson {
  dryRun: boolean;
  empty: boolean;
  redis: { keys: string[]; keptShared: number };
  kafka: {
    topics: Array<{ topic: string; messages: number }>;
    groups: Array<{ group: string; members: number }>;
  };
  dynamodb: { tables: Array<{ table: string }>; drop: boolean };
  blockers: string[];
  removed?: { redisKeys: number; topics: string[]; groups: string[]; tables: string[] };
}

describe('cdc teardown', () => {
  let server: TestRedisServer;
  let app: INestApplicationContext | undefined;
  let redis: Redis;
  let config: ReturnType<typeof testConfig>;
  let env: NodeJS.ProcessEnv;
  const home = mkdtempSync(join(tmpdir(), 'cdc-teardown-'));

  async function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    const child = spawn(process.execPath, [CLI, 'teardown', ...args], {
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    return { code: await exited(child), out, err };
  }

  async function plan(...args: string[]): Promise<PlanJson> {
    const r = await cli('--json', ...args);
    if (r.code !== 0) throw new Error(`cdc teardown ${args.join(' ')} exited ${r.code}: ${r.err}`);
    return JSON.parse(r.out) as PlanJson;
  }

  beforeAll(async () => {
    expect(existsSync(CLI), 'run `npm run build` first').toBe(true);
    server = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
    config = testConfig({ REDIS_URL: server.url, REDIS_DB: '0' });
    const k = config.require('kafka').kafka;
    env = {
      ...process.env,
      CDC_HOME: home,
      REDIS_URL: server.url,
      KAFKA_BROKERS: k.brokers.join(','),
      DYNAMODB_ENDPOINT: config.dynamo.endpoint,
      CDC_SOURCE_ID: config.sourceId,
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOG_LEVEL: 'warn',
    };
    redis = createRedisClient(config.require('redis').redis, 'e2e-teardown');
    await redis.connect();
    ({ app } = await bootPipeline(config, [CaptureModule, ApplierModule]));
    const keys = Array.from({ length: 5 }, (_, i) => `td:${i}`);
    for (const key of keys) await redis.set(key, 'v');
    await expectReplicated(config, redis, keys);
  }, 120_000);

  afterAll(async () => {
    await app?.close();
    redis?.disconnect();
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('refuses --yes while capture and the applier run, naming them; the dry run lists what exists', async () => {
    const refused = await cli('--yes');
    expect(refused.code).toBe(2);
    expect(refused.out).toContain(`capture of source ${config.sourceId} was alive`);
    expect(refused.out).toContain(`consumer group ${config.applierGroup} has 1 active member`);
    expect(refused.err).toContain('teardown refused');
    // Nothing was touched.
    expect(await redis.exists(`__cdc:alive:${config.sourceId}`)).toBe(1);
  });

  it('once stopped: lists exactly what the run created, removes it with --yes, then lists nothing', async () => {
    await app?.close();
    app = undefined;
    // The heartbeat ages past cdc status's window (10 s) and the applier has left its group.
    const listed = await waitFor(
      'the stopped pipeline to stop blocking',
      async () => {
        const p = await plan();
        return p.blockers.length === 0 ? p : undefined;
      },
      { timeoutMs: 30_000, intervalMs: 1_000 },
    );
    const S = config.sourceId;
    expect(listed.dryRun).toBe(true);
    expect(listed.redis.keys).toEqual(
      expect.arrayContaining([`__cdc:alive:${S}`, `__cdc:gaps:${S}`, '__cdc:ver']),
    );
    // Exactly the reserved keys this Redis holds: it serves no other source.
    expect([...listed.redis.keys].sort()).toEqual((await redis.keys('__cdc:*')).sort());
    expect(listed.redis.keptShared).toBe(0); // this Redis has no other source
    expect(listed.kafka.topics.map((t) => t.topic)).toEqual([config.topic, config.dlqTopic]);
    expect(listed.kafka.topics[0]?.messages).toBeGreaterThanOrEqual(5);
    expect(listed.kafka.groups.map((g) => [g.group, g.members])).toEqual([[config.applierGroup, 0]]);
    expect(listed.dynamodb).toMatchObject({ tables: [{ table: config.table }], drop: false });
    // The dry run deleted nothing.
    expect(await redis.exists(`__cdc:alive:${S}`)).toBe(1);

    // --yes: everything but the table (after a cutover it is the application's data).
    const removed = await plan('--yes');
    expect(removed.removed).toMatchObject({
      topics: [config.topic, config.dlqTopic],
      groups: [config.applierGroup],
      tables: [],
    });
    expect(removed.removed?.redisKeys).toBe(listed.redis.keys.length);
    expect(await redis.keys('__cdc:*')).toEqual([]);
    expect(await redis.get('td:0')).toBe('v'); // the application's data stays
    const admin = createKafka(config.require('kafka').kafka, createLogger('fatal', 'e2e')).admin();
    await admin.connect();
    try {
      const topics = await admin.listTopics();
      expect(topics).not.toContain(config.topic);
      expect(topics).not.toContain(config.dlqTopic);
      const { groups } = await admin.listGroups();
      expect(groups.map((g) => g.groupId)).not.toContain(config.applierGroup);
    } finally {
      await admin.disconnect();
    }

    const afterYes = await plan();
    expect(afterYes.empty).toBe(true);
    expect(afterYes.dynamodb.tables.map((t) => t.table)).toEqual([config.table]); // listed, kept

    const dropped = await plan('--yes', '--drop-tables');
    expect(dropped.removed?.tables).toEqual([config.table]);
    const dynamo = createDynamoClient(config.dynamo);
    expect(await tableSummary(dynamo, config.table)).toBeNull();
    dynamo.destroy();

    const last = await plan('--drop-tables');
    expect(last).toMatchObject({
      empty: true,
      redis: { keys: [] },
      kafka: { topics: [], groups: [] },
      dynamodb: { tables: [] },
    });
  }, 120_000);
});
