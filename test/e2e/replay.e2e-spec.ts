import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteTableCommand, paginateScan } from '@aws-sdk/client-dynamodb';
import {
  ApplierModule,
  type ReplayCheckpoint,
  ReplayError,
  type ReplaySummary,
  runReplay,
} from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { type CdcConfig, names } from '@cdc/config';
import { createDynamoClient, describeTable } from '@cdc/dynamo';
import { createKafka } from '@cdc/kafka';
import { createLogger, Metrics } from '@cdc/observability';
import { ATTR, type Item } from '@cdc/parity';
import { createRedisClient } from '@cdc/redis';
import {
  appEnv,
  bootPipeline,
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
const DB = '13';

/** Every item of a table by pk, without what legitimately differs between two appliers of the same events. */
/**
 * This test's items of a table (its keys carry its source id): the tests share a Redis DB, and a capture's
 * reconciliation scan (after a restart) also re-captures keys earlier tests left there.
 */
async function tableItems(config: CdcConfig, table: string): Promise<Map<string, Item>> {
  const client = createDynamoClient(config.dynamo);
  const own = `${config.sourceId}:`;
  const out = new Map<string, Item>();
  try {
    for await (const page of paginateScan({ client }, { TableName: table, ConsistentRead: true }))
      for (const item of page.Items ?? []) {
        const { [ATTR.appliedAt]: _applied, ...rest } = item;
        // A tombstone's TTL is counted from when it was applied.
        if (rest[ATTR.deleted]?.BOOL) delete rest[ATTR.expireAt];
        const pk = rest[ATTR.pk]?.S as string;
        if (pk.startsWith(own)) out.set(pk, rest);
      }
  } finally {
    client.destroy();
  }
  return out;
}

/** Writes every Redis type, overwrites, TTLs and deletes, so the topic holds stale history as well. */
async function writeMix(redis: Redis, keys: readonly string[], rounds: number): Promise<void> {
  for (let round = 0; round < rounds; round++) {
    const tx = redis.pipeline();
    keys.forEach((k, i) => {
      switch (i % 6) {
        case 0:
          tx.set(k, `v${round}:${i}`);
          break;
        case 1:
          tx.hset(k, { round: String(round), i: String(i) });
          break;
        case 2:
          tx.rpush(k, `e${round}`);
          break;
        case 3:
          tx.sadd(k, `m${round}`);
          break;
        case 4:
          tx.zadd(k, round, `z${i}`);
          break;
        default:
          if (round === rounds - 1 && i % 12 === 5) tx.del(k);
          else tx.set(k, `t${round}`, 'EX', 3_600);
      }
    });
    await tx.exec();
  }
}

async function replayCli(
  env: NodeJS.ProcessEnv,
  args: string[],
): Promise<{ code: number | null; out: string; err: string }> {
  const child = spawn(process.execPath, [join(ROOT, 'bin', 'cdc.js'), 'replay', ...args], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  return { code: await exited(child), out, err };
}

describe('cdc replay', () => {
  const home = mkdtempSync(join(tmpdir(), 'cdc-replay-'));
  let app: INestApplicationContext | undefined;
  let redis: Redis | undefined;

  afterEach(async () => {
    await app?.close();
    app = undefined;
    redis?.disconnect();
    redis = undefined;
  });
  afterAll(() => rmSync(home, { recursive: true, force: true }));

  function cliEnv(config: CdcConfig): NodeJS.ProcessEnv {
    return appEnv(config, { CDC_HOME: home });
  }

  /** Live capture + applier over `keys` until the table matches Redis. */
  async function liveTraffic(config: CdcConfig, keys: readonly string[], rounds: number): Promise<Redis> {
    redis ??= createRedisClient(config.require('redis').redis, 'replay-writer');
    if (redis.status === 'wait') await redis.connect();
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    await writeMix(redis, keys, rounds);
    await expectReplicated(config, redis, keys);
    return redis;
  }

  /**
   * Waits for the live applier to commit the whole topic (values can match Redis before the last, higher
   * versions of the same values land), then stops the pipeline: the live table is then final.
   */
  async function settle(config: CdcConfig): Promise<void> {
    const admin = createKafka(config.require('kafka').kafka, createLogger('error')).admin();
    await admin.connect();
    try {
      await waitFor(
        'the live applier to commit the whole topic',
        async () => {
          const high = await admin.fetchTopicOffsets(config.topic);
          const [t] = await admin.fetchOffsets({ groupId: config.applierGroup, topics: [config.topic] });
          return high.every((h) => t?.partitions.find((p) => p.partition === h.partition)?.offset === h.high);
        },
        { accept: (drained) => drained, timeoutMs: 60_000, intervalMs: 200 },
      );
    } finally {
      await admin.disconnect();
    }
    await app?.close();
    app = undefined;
  }

  it('--from-beginning into a new table (--to-table --create-table) rebuilds the live table item by item', async () => {
    const config = testConfig({ REDIS_DB: DB });
    const keys = Array.from({ length: 120 }, (_, i) => `${config.sourceId}:k:${i}`);
    const r = await liveTraffic(config, keys, 3);
    await settle(config);

    const table = `${config.table}_rebuilt`;
    const run = await replayCli(cliEnv(config), [
      '--from-beginning',
      '--to-table',
      table,
      '--create-table',
      '--json',
    ]);
    expect(run.code, run.err).toBe(0);
    const summary = JSON.parse(run.out) as ReplaySummary;
    expect(summary).toMatchObject({ completed: true, tableCreated: true, table, resumed: false });
    // At least once per key (a key split over two fetched batches is written twice, the later one newer).
    expect(summary.report.applied).toBeGreaterThanOrEqual(keys.length);
    expect(summary.report.deadLettered).toBe(0);
    expect(summary.checkpointFile).toBeNull();

    const live = await tableItems(config, config.table);
    expect(live.size).toBe(keys.length);
    expect(await tableItems(config, table)).toEqual(live);
    await expectReplicated(
      testConfig({ REDIS_DB: DB, CDC_SOURCE_ID: config.sourceId, CDC_TABLE: table }),
      r,
      keys,
    );
  });

  it('killed with SIGKILL mid-run, the same command resumes to the same end offsets and the same table', async () => {
    const config = testConfig({ REDIS_DB: DB });
    const keys = Array.from({ length: 240 }, (_, i) => `${config.sourceId}:k:${i}`);
    const r = await liveTraffic(config, keys, 2);
    await settle(config);
    // What the replay must rebuild: the live table as of the end offsets it will fix at its first start.
    const liveAtStart = await tableItems(config, config.table);
    const table = `${config.table}_resumed`;
    const env = cliEnv(config);
    const args = ['--from-beginning', '--to-table', table, '--create-table', '--json'];
    const checkpointFile = join(home, 'replay', `${config.sourceId}-${table}.json`);
    const group = names.replayGroup(config.sourceId, table);
    const kafka = createKafka(config.require('kafka').kafka, createLogger('error'));
    const admin = kafka.admin();
    await admin.connect();
    try {
      const first = spawn(
        process.execPath,
        [join(ROOT, 'bin', 'cdc.js'), 'replay', ...args, '--rate', '30'],
        {
          env,
          stdio: 'ignore',
        },
      );
      const checkpoint = await waitFor(
        'the checkpoint',
        () =>
          existsSync(checkpointFile)
            ? (JSON.parse(readFileSync(checkpointFile, 'utf8')) as ReplayCheckpoint)
            : undefined,
        { timeoutMs: 60_000 },
      );
      // Kill once some partition committed progress, before all did.
      const committedAtKill = await waitFor(
        'a partly committed replay',
        async () => {
          const [t] = await admin.fetchOffsets({ groupId: group, topics: [config.topic] });
          return t?.partitions;
        },
        {
          accept: (ps) =>
            ps.some((p) => {
              const range = checkpoint.partitions.find((c) => c.partition === p.partition);
              return range !== undefined && BigInt(p.offset) > BigInt(range.start);
            }),
          timeoutMs: 90_000,
          intervalMs: 100,
        },
      );
      first.kill('SIGKILL');
      await exited(first);
      const ends = checkpoint.partitions.map((p) => p.end);
      expect(
        committedAtKill.some((p) => BigInt(p.offset) < BigInt(ends[p.partition] ?? '0')),
        'killed after it finished',
      ).toBe(true);

      // Traffic goes on after the kill: the resumed run must still stop at the first run's end offsets.
      const later = Array.from({ length: 30 }, (_, i) => `${config.sourceId}:later:${i}`);
      ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
      await writeMix(r, later, 1);
      await expectReplicated(config, r, later);
      await settle(config);

      const second = await replayCli(env, args);
      expect(second.code, second.err).toBe(0);
      const summary = JSON.parse(second.out) as ReplaySummary;
      expect(summary).toMatchObject({ completed: true, resumed: true, start: '--from-beginning' });
      expect(summary.partitions.map((p) => p.end)).toEqual(ends);
      expect(existsSync(checkpointFile)).toBe(false);

      // The live table has moved on since (the later keys, and the restarted capture's reconciliation
      // re-captured every key with fresh versions); the replay stopped at the first run's end offsets.
      expect(await tableItems(config, table)).toEqual(liveAtStart);
    } finally {
      await admin.disconnect();
    }
  }, 240_000);

  it('the whole topic replayed twice over the LIVE table while writes go on: nothing lost, no version goes back', async () => {
    const config = testConfig({ REDIS_DB: DB });
    const keys = Array.from({ length: 80 }, (_, i) => `${config.sourceId}:n:${i}`);
    const r = await liveTraffic(config, keys, 2);
    const history = await watchItemHistory(config);

    let writing = true;
    let writes = 0;
    const writer = (async () => {
      while (writing) {
        const tx = r.pipeline();
        for (let j = 0; j < 4; j++, writes++) {
          const key = keys[(writes * 7) % keys.length] as string;
          if (writes % 11 === 10) tx.del(key);
          else tx.incr(`${key}:c`).set(key, String(writes));
        }
        await tx.exec();
        await new Promise((res) => setTimeout(res, 100));
      }
    })();

    const summaries: ReplaySummary[] = [];
    try {
      for (let i = 0; i < 2; i++)
        summaries.push(
          await runReplay(config, new Metrics({ defaultMetrics: false }), createLogger('warn'), {
            start: { kind: 'beginning' },
            checkpointDir: join(home, 'live'),
          }),
        );
    } finally {
      writing = false;
      await writer;
    }
    for (const s of summaries) {
      expect(s.completed).toBe(true);
      expect(s.report.deadLettered).toBe(0);
      // Over a live table most events are already there (or superseded): counted no-ops, not writes.
      expect(s.report.duplicate + s.report.stale).toBeGreaterThan(0);
    }
    // The second run planned past the first one's end: writes went on in between.
    const ends = summaries.map((s) => s.partitions.reduce((n, p) => n + BigInt(p.end), 0n));
    expect(ends[1]).toBeGreaterThan(ends[0] as bigint);

    const all = [...keys, ...keys.map((k) => `${k}:c`)];
    await expectReplicated(config, r, all, { timeoutMs: 180_000 });
    await new Promise((res) => setTimeout(res, 1_000)); // the stream reader catches up with the last images
    await history.stop();
    expect(history.byKey.size).toBeGreaterThan(0);
    expect(versionRegressions(history)).toEqual([]);
  }, 300_000);

  it('--dry-run writes nothing, commits nothing, and says what it would do', async () => {
    const config = testConfig({ REDIS_DB: DB });
    const keys = Array.from({ length: 60 }, (_, i) => `${config.sourceId}:k:${i}`);
    await liveTraffic(config, keys, 2);
    const metrics = new Metrics({ defaultMetrics: false });
    const log = createLogger('warn');
    const checkpointDir = join(home, 'dry');

    const fresh = `${config.table}_dry`;
    const intoNew = await runReplay(config, metrics, log, {
      start: { kind: 'beginning' },
      table: fresh,
      createTable: true,
      dryRun: true,
      checkpointDir,
    });
    expect(intoNew).toMatchObject({
      dryRun: true,
      completed: true,
      tableCreated: false,
      checkpointFile: null,
    });
    expect(intoNew.report.applied).toBeGreaterThanOrEqual(keys.length);
    const client = createDynamoClient(config.dynamo);
    try {
      expect(await describeTable(client, fresh)).toBeNull();
    } finally {
      client.destroy();
    }

    const overLive = await runReplay(config, metrics, log, {
      start: { kind: 'beginning' },
      dryRun: true,
      checkpointDir,
    });
    // Every key's last event is what the live table holds: one duplicate per key, the rest stale or coalesced.
    expect(overLive.report.applied).toBe(0);
    expect(overLive.report.duplicate).toBe(keys.length);

    const kafka = createKafka(config.require('kafka').kafka, log);
    const admin = kafka.admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({
        groupId: names.replayGroup(config.sourceId, fresh),
        topics: [config.topic],
      });
      expect(t?.partitions.every((p) => p.offset === '-1')).toBe(true);
      const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
      expect(
        groups.filter((g) => g.startsWith(`${names.replayGroup(config.sourceId, fresh)}.dry-run`)),
      ).toEqual([]);
    } finally {
      await admin.disconnect();
    }
    expect(existsSync(join(checkpointDir, `${config.sourceId}-${fresh}.json`))).toBe(false);
  });

  it('--from-timestamp replays only what was captured from then on', async () => {
    const config = testConfig({ REDIS_DB: DB });
    const before = Array.from({ length: 40 }, (_, i) => `${config.sourceId}:before:${i}`);
    const r = await liveTraffic(config, before, 1);
    const from = Date.now() + 1; // after every event of `before` was produced and applied
    await new Promise((res) => setTimeout(res, 20));
    const after = Array.from({ length: 40 }, (_, i) => `${config.sourceId}:after:${i}`);
    await writeMix(r, after, 1);
    await expectReplicated(config, r, after);

    const table = `${config.table}_since`;
    const summary = await runReplay(config, new Metrics({ defaultMetrics: false }), createLogger('warn'), {
      start: { kind: 'timestamp', timestamp: from },
      table,
      createTable: true,
      checkpointDir: join(home, 'ts'),
    });
    expect(summary.completed).toBe(true);
    const live = [...(await tableItems(config, config.table)).keys()];
    const expected = live.filter((k) => k.startsWith(`${config.sourceId}:after:`)).sort();
    expect(expected.length).toBeGreaterThan(0);
    expect([...(await tableItems(config, table)).keys()].sort()).toEqual(expected);
  });

  it('the target table deleted mid-run: the replay stops naming the table and the fix, commits nothing past it, and resumes', async () => {
    const config = testConfig({ REDIS_DB: DB });
    const keys = Array.from({ length: 30 }, (_, i) => `${config.sourceId}:k:${i}`);
    await liveTraffic(config, keys, 1);
    await settle(config);
    const metrics = new Metrics({ defaultMetrics: false });
    const log = createLogger('error');
    const checkpointDir = join(home, 'stop');
    const table = `${config.table}_gone`;
    const dynamo = createDynamoClient(config.dynamo);
    // The first write of the run deletes the table under it (once; the writes of the batch wait for it).
    let deleted: Promise<unknown> | undefined;
    const failure = await runReplay(config, metrics, log, {
      start: { kind: 'beginning' },
      table,
      createTable: true,
      checkpointDir,
      beforeWrite: () =>
        (deleted ??= dynamo.send(new DeleteTableCommand({ TableName: table }))).then(() => undefined),
    }).then(
      () => undefined,
      (err: unknown) => err as Error,
    );
    expect(failure).toBeInstanceOf(ReplayError);
    expect(failure?.message).toContain(`DynamoDB table "${table}" does not exist`);
    expect(failure?.message).toContain('Fix: create table');
    expect(failure?.message).toContain('run the same cdc replay again to resume');
    // Nothing committed past the failure: the replay group is still at every partition's start.
    const file = join(checkpointDir, `${config.sourceId}-${table}.json`);
    expect(existsSync(file)).toBe(true);
    const checkpoint = JSON.parse(readFileSync(file, 'utf8')) as ReplayCheckpoint;
    const admin = createKafka(config.require('kafka').kafka, createLogger('error')).admin();
    await admin.connect();
    try {
      const [t] = await admin.fetchOffsets({ groupId: checkpoint.group, topics: [config.topic] });
      for (const r of checkpoint.partitions)
        expect(
          t?.partitions.find((p) => p.partition === r.partition)?.offset,
          `partition ${r.partition}`,
        ).toBe(r.start);
    } finally {
      await admin.disconnect();
    }
    // Fixed (the replay may create the table): the same replay resumes and completes.
    const resumed = await runReplay(config, metrics, log, { table, createTable: true, checkpointDir });
    expect(resumed).toMatchObject({ resumed: true, completed: true, tableCreated: true });
    const live = await tableItems(config, config.table);
    expect(live.size).toBeGreaterThan(keys.length / 2);
    expect(await tableItems(config, table)).toEqual(live);
    dynamo.destroy();
  });

  it('names the problem: unknown source, two starts, a bad timestamp', async () => {
    const config = testConfig({ REDIS_DB: DB });
    const env = cliEnv(config);
    const unknown = await replayCli({ ...env, CDC_SOURCE_ID: 'no_such_source' }, ['--from-beginning']);
    expect(unknown.code).toBe(78);
    expect(unknown.err).toMatch(/topic cdc\.no_such_source\.changes does not exist.*--source/s);
    const both = await replayCli(env, ['--from-beginning', '--from-offset', '5']);
    expect(both.code).toBe(64);
    expect(both.err).toMatch(/mutually exclusive/);
    const ts = await replayCli(env, ['--from-timestamp', 'yesterday']);
    expect(ts.code).toBe(64);
    expect(ts.err).toMatch(/--from-timestamp must be ISO 8601/);
  });
});
