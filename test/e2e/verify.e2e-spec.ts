import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type AttributeValue, PutItemCommand, UpdateItemCommand } from '@aws-sdk/client-dynamodb';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import type { CdcConfig } from '@cdc/config';
import { createDynamoClient } from '@cdc/dynamo';
import { controlKeys, createRedisClient, type ScanSummary } from '@cdc/redis';
import {
  bootPipeline,
  expectReplicated,
  findFreePort,
  startRedisServer,
  testConfig,
  type TestRedisServer,
  waitFor,
  exited,
} from '@cdc/testing';
import { type ScanReport, TwoSidedScan, type VerifyCheckpoint } from '@cdc/verifier';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';

/**
 * Issue 5 part 5: each divergence is caused for real on the real engines, then `cdc verify` (the built CLI)
 * must name its class, `--repair` must fix it through the log (capture's pipeline -> Kafka -> the applier), and
 * the next run must report 100%. Runs use --match on the shared Redis DBs 9 and 10 so other sources' keys there
 * are not in scope; FLUSHDB gets a private redis-server (it would look like a gap to every other capture).
 */
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'cdc.js');

type Report = ScanReport & { checkpointFile: string | null };

// Each test waits for the pipeline several times on a shared, noisy box: generous, not a speed claim.
describe('cdc verify: two-sided scan, repair through the log', { timeout: 300_000 }, () => {
  const home = mkdtempSync(join(tmpdir(), 'cdc-verify-'));
  let app: INestApplicationContext | undefined;
  let redis: Redis | undefined;
  let server: TestRedisServer | undefined;
  const dynamo = createDynamoClient(testConfig().dynamo);

  afterEach(async () => {
    await app?.close();
    app = undefined;
    redis?.disconnect();
    redis = undefined;
    await server?.stop();
    server = undefined;
  });
  afterAll(() => {
    dynamo.destroy();
    rmSync(home, { recursive: true, force: true });
  });

  function cliEnv(config: CdcConfig): NodeJS.ProcessEnv {
    const { redis: r, kafka: k } = config.require('redis', 'kafka');
    return {
      ...process.env,
      CDC_HOME: home,
      REDIS_URL: r.url,
      REDIS_DB: String(r.db),
      KAFKA_BROKERS: k.brokers.join(','),
      DYNAMODB_ENDPOINT: config.dynamo.endpoint,
      CDC_SOURCE_ID: config.sourceId,
      CDC_TOPIC_PARTITIONS: '3',
      CDC_VERIFIER_GRACE_MS: '500',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
    };
  }

  function spawnVerify(config: CdcConfig, args: string[], json = true): ChildProcess {
    const argv = [CLI, 'verify', ...(json ? ['--json'] : []), '--match', `${config.sourceId}:*`, ...args];
    return spawn(process.execPath, argv, { env: cliEnv(config), stdio: ['ignore', 'pipe', 'pipe'] });
  }

  async function run(config: CdcConfig, args: string[], json: boolean) {
    const child = spawnVerify(config, args, json);
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await exited(child);
    if (!out.trim()) throw new Error(`cdc verify printed no report (exit ${code}); stderr:\n${err}`);
    return { code, out, err };
  }

  async function verify(
    config: CdcConfig,
    ...args: string[]
  ): Promise<{ code: number | null; report: Report }> {
    const { code, out } = await run(config, args, true);
    return { code, report: JSON.parse(out) as Report };
  }

  async function connect(config: CdcConfig): Promise<Redis> {
    redis = createRedisClient(config.require('redis').redis, 'verify-e2e');
    await redis.connect();
    return redis;
  }

  const update = (config: CdcConfig, pk: string, set: string, values: Record<string, AttributeValue>) =>
    dynamo.send(
      new UpdateItemCommand({
        TableName: config.table,
        Key: { pk: { S: pk } },
        UpdateExpression: set,
        ExpressionAttributeNames: Object.fromEntries(
          Object.keys(values).map((v) => [`#${v.slice(1)}`, v.slice(1)]),
        ),
        ExpressionAttributeValues: values,
      }),
    );

  /** Repair, wait until the applier has applied it, and rerun: 100%. */
  async function repairToFullParity(config: CdcConfig, keys: string[], expectRepaired: number) {
    const repair = await verify(config, '--repair');
    expect(repair.code).toBe(2); // this run still found the mismatches it repaired
    expect(repair.report.repaired).toBe(expectRepaired);
    await expectReplicated(config, redis as Redis, keys, { timeoutMs: 180_000 });
    const after = await verify(config);
    expect(after.code).toBe(0);
    expect(after.report).toMatchObject({ completed: true, verdict: 'parity', parityPct: 100, mismatches: 0 });
    const summary = JSON.parse(
      (await redis?.get(controlKeys.lastScan(config.sourceId, config.table))) ?? 'null',
    ) as ScanSummary | null;
    expect(summary).toMatchObject({ parityPct: 100, checked: after.report.checked });
    return after.report;
  }

  it('a value, a type and a TTL changed directly in DynamoDB, and items written there by someone else', async () => {
    const config = testConfig({ REDIS_DB: '9' });
    const r = await connect(config);
    const k = (name: string) => `${config.sourceId}:${name}`;
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    const strings = Array.from({ length: 20 }, (_, i) => k(`s:${i}`));
    for (const key of strings) await r.set(key, `v-${key}`);
    await r.hset(k('type'), { f: '1' });
    await r.set(k('ttl'), 'no ttl');
    const keys = [...strings, k('type'), k('ttl')];
    await expectReplicated(config, r, keys);

    await update(config, k('s:0'), 'SET #val = :val', { ':val': { S: 'tampered' } });
    await update(config, k('type'), 'SET #type = :type, #val = :val', {
      ':type': { S: 'list' },
      ':val': { L: [{ S: '2' }] },
    });
    await update(config, k('ttl'), 'SET #expireAt = :expireAt', {
      ':expireAt': { N: String(Math.floor(Date.now() / 1000) + 3_600) },
    });
    // Someone else's writes: one over a replicated key, one for a key Redis never had.
    await dynamo.send(
      new PutItemCommand({
        TableName: config.table,
        Item: { pk: { S: k('s:1') }, val: { S: 'theirs' }, writer: { S: 'another-app' } },
      }),
    );
    await dynamo.send(
      new PutItemCommand({ TableName: config.table, Item: { pk: { S: k('foreign') }, val: { S: 'x' } } }),
    );

    const { code, report } = await verify(config);
    expect(code).toBe(2);
    expect(report.classes).toEqual({
      match: 18, // 20 strings but s:0 (value) and s:1 (foreign)
      'in-flight': 0,
      'not-carried': 0,
      missing: 0,
      extra: 0,
      value: 1,
      type: 1,
      ttl: 1,
      foreign: 2,
    });
    expect(report.samples.value).toEqual([k('s:0')]);
    expect(report.samples.type).toEqual([k('type')]);
    expect(report.samples.ttl).toEqual([k('ttl')]);
    expect([...(report.samples.foreign ?? [])].sort()).toEqual([k('foreign'), k('s:1')]);
    expect(report.repaired).toBe(0); // no --repair: nothing written

    const final = await repairToFullParity(config, [...keys, k('foreign')], 5);
    expect(final.classes.match).toBe(22);
    expect(final.tombstones).toBe(1); // the foreign item of a key Redis never had became a tombstone
  });

  it('Redis keys deleted, changed, created and expired while capture is stopped', async () => {
    const config = testConfig({ REDIS_DB: '10' });
    const r = await connect(config);
    const k = (name: string) => `${config.sourceId}:${name}`;
    const range = (p: string, n: number) => Array.from({ length: n }, (_, i) => k(`${p}:${i}`));
    const [deleted, changed, kept, created] = [
      range('del', 5),
      range('chg', 5),
      range('keep', 10),
      range('new', 3),
    ];
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    for (const key of [...deleted, ...kept]) await r.rpush(key, 'a', 'b');
    for (const key of changed) await r.hset(key, { f: 'old' });
    await r.set(k('exp'), 'short-lived', 'PX', 60_000);
    await expectReplicated(config, r, [...deleted, ...changed, ...kept, k('exp')]);

    // Capture stops; the applier alone comes back (a capture restart would heal the downtime by itself).
    await app.close();
    ({ app } = await bootPipeline(config, [ApplierModule]));
    // Shortened only now: an expiry while capture was still shutting down would be captured (a DELETE), and the
    // key would no longer be one that expired while nobody listened.
    await r.pexpire(k('exp'), 200);
    await r.del(...deleted);
    for (const key of changed) await r.hset(key, { f: 'new' });
    for (const key of created) await r.sadd(key, 'm');
    await waitFor(
      'the short-lived key to expire',
      async () => ((await r.exists(k('exp'))) === 0 ? true : undefined),
      {
        timeoutMs: 10_000,
      },
    );

    const { code, report } = await verify(config, '--segments', '3');
    expect(code).toBe(2);
    expect(report.classes).toMatchObject({
      match: 10,
      extra: 6,
      value: 5,
      missing: 3,
      type: 0,
      ttl: 0,
      foreign: 0,
    });
    expect(report.samples.extra).toContain(k('exp'));

    const final = await repairToFullParity(
      config,
      [...deleted, ...changed, ...kept, ...created, k('exp')],
      14,
    );
    expect(final.classes.match).toBe(18);
    expect(final.tombstones).toBe(6);
  });

  it('FLUSHDB (no per-key events): every item left behind is extra; repair tombstones them', async () => {
    server = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
    const config = testConfig({ REDIS_URL: server.url });
    const r = await connect(config);
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    const before = Array.from({ length: 30 }, (_, i) => `${config.sourceId}:before:${i}`);
    for (const key of before) await r.zadd(key, 1, 'a', 2, 'b');
    await expectReplicated(config, r, before);
    await r.flushdb();
    const after = Array.from({ length: 5 }, (_, i) => `${config.sourceId}:after:${i}`);
    for (const key of after) await r.set(key, 'post-flush');
    await expectReplicated(config, r, after);

    const { code, report } = await verify(config);
    expect(code).toBe(2);
    expect(report.classes).toMatchObject({ match: 5, extra: 30, missing: 0, value: 0 });
    // The readable summary (no --json) says the same, with nines, and how to fix it.
    const human = await run(config, [], false);
    expect(human.code).toBe(2);
    expect(human.out).toContain('Parity: 14.2857% proven (30 confirmed mismatches, 0.0 nines).');
    expect(human.out).toMatch(/extra\s+30\s+0\.0 nines\s+e\.g\. /);
    expect(human.out).toContain('npx cdc verify --repair');

    const final = await repairToFullParity(config, [...before, ...after], 30);
    expect(final.classes.match).toBe(5);
    expect(final.tombstones).toBe(30);
  });

  it('under live writes, first-look mismatches are rechecked after the grace period and none is confirmed', async () => {
    const config = testConfig({ REDIS_DB: '10' });
    const r = await connect(config);
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    const keys = Array.from({ length: 200 }, (_, i) => `${config.sourceId}:c:${i}`);
    const tx = r.pipeline();
    for (const key of keys) tx.set(key, '0');
    await tx.exec();
    await expectReplicated(config, r, keys);

    let writing = true;
    let writes = 0;
    const writers = [0, 1].map(async (w) => {
      for (let i = 0; writing; i++) {
        await r.incr(keys[(i * 7 + w) % keys.length] as string);
        writes++;
      }
    });
    // The engine in-process (what `cdc bench verify` drives). The grace is the product's bound on pipeline lag:
    // generous here because the box is shared; one segment and one page, so the run waits it out once.
    const scan = new TwoSidedScan({
      dynamo,
      redis: r,
      sourceId: config.sourceId,
      table: config.table,
      writer: config.writer,
      graceMs: 30_000,
    });
    const writesBefore = writes;
    const report = await scan.run({ match: `${config.sourceId}:*`, segments: 1, pageSize: 500 });
    const writesDuring = writes - writesBefore;
    writing = false;
    await Promise.all(writers);
    expect(writesDuring).toBeGreaterThan(0);
    expect(report.completed).toBe(true);
    expect(report.checked).toBe(keys.length);
    expect(report.mismatches).toBe(0);
    expect(report.classes.match + report.classes['in-flight']).toBe(keys.length);
  });

  it('a run killed with SIGKILL halfway resumes from its checkpoint and counts every key exactly once', async () => {
    const config = testConfig({ REDIS_DB: '9' });
    const r = await connect(config);
    // Two pages per segment (250 items a page): the first pages' checkpoints come while the rate still holds
    // the second ones back, however long their mismatches' recheck takes (it waits out capture's last heartbeat).
    const keys = Array.from({ length: 600 }, (_, i) => `${config.sourceId}:k:${i}`);
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    for (let i = 0; i < keys.length; i += 100) {
      const tx = r.pipeline();
      for (const key of keys.slice(i, i + 100)) tx.set(key, `v-${key}`);
      await tx.exec();
    }
    await expectReplicated(config, r, keys, { timeoutMs: 180_000 });
    await app.close();
    app = undefined;
    // Divergences spread over the key space, so some fall before the kill and some after.
    const tampered = [7, 200, 400, 590].map((i) => keys[i] as string);
    for (const key of tampered) await update(config, key, 'SET #val = :val', { ':val': { S: 'tampered' } });
    const created = [0, 1, 2].map((i) => `${config.sourceId}:new:${i}`);
    for (const key of created) await r.set(key, 'never captured');

    const checkpointFile = join(home, 'verify', `${config.sourceId}-${config.table}.json`);
    const first = spawnVerify(config, ['--rate', '50', '--segments', '2']);
    const partial = await waitFor(
      'a checkpoint past 150 items+keys',
      () =>
        existsSync(checkpointFile)
          ? (JSON.parse(readFileSync(checkpointFile, 'utf8')) as VerifyCheckpoint)
          : undefined,
      { accept: (c) => c.counts.itemsScanned + c.counts.keysScanned >= 150, timeoutMs: 120_000 },
    );
    first.kill('SIGKILL');
    await exited(first);
    expect(partial.counts.itemsScanned).toBeLessThan(keys.length);
    expect(partial.dynamo.every((s) => s.done) && partial.redis.done).toBe(false);

    const { code, report } = await verify(config, '--resume');
    expect(code).toBe(2);
    expect(report).toMatchObject({ completed: true, resumed: true, segments: 2, checkpointFile: null });
    expect(report.itemsScanned).toBe(keys.length); // every DynamoDB page exactly once across the kill
    expect(report.keysScanned).toBeGreaterThanOrEqual(keys.length + created.length); // SCAN may repeat, never skip
    expect(report.classes).toMatchObject({
      match: keys.length - tampered.length,
      value: 4,
      missing: 3,
      extra: 0,
      'in-flight': 0,
    });
    expect(existsSync(checkpointFile)).toBe(false);
  });

  it('the applier behind, or Kafka away: nothing confirmed, but not parity either (exit 3, keys in flight)', async () => {
    const config = testConfig({ REDIS_DB: '10' });
    const r = await connect(config);
    const keys = Array.from({ length: 12 }, (_, i) => `${config.sourceId}:behind:${i}`);
    ({ app } = await bootPipeline(config, [CaptureModule]));
    let applier: INestApplicationContext | undefined = (await bootPipeline(config, [ApplierModule])).app;
    try {
      for (const key of keys) await r.set(key, 'a');
      await expectReplicated(config, r, keys);
      // The applier stops (the failure policy, a crash); capture goes on producing the newer values.
      await applier.close();
      applier = undefined;
      for (const key of keys) await r.set(key, 'b');

      const { code, report } = await verify(config);
      expect(code, JSON.stringify(report)).toBe(3);
      expect(report).toMatchObject({
        verdict: 'in-flight',
        mismatches: 0,
        inFlight: keys.length,
        parityPct: 0,
      });
      expect((report as Report & { advice: string }).advice).toContain(`${keys.length} keys still in flight`);
      // What `cdc status`'s scan check reads: the in-flight count, so it fails with the fix.
      const summary = JSON.parse(
        (await r.get(controlKeys.lastScan(config.sourceId, config.table))) ?? 'null',
      ) as ScanSummary | null;
      expect(summary).toMatchObject({ inFlight: keys.length, mismatches: 0, parityPct: 0 });

      // Kafka unreachable: the progress is unknown, said on stderr and in the report; still exit 3, not 0.
      const dead = `127.0.0.1:${await findFreePort()}`;
      const child = spawn(process.execPath, [CLI, 'verify', '--match', `${config.sourceId}:*`], {
        env: { ...cliEnv(config), KAFKA_BROKERS: dead },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      expect(await exited(child), out + err).toBe(3);
      expect(err).toContain(`warning: Kafka at ${dead} not reachable`);
      expect(out).toContain("Warning: the pipeline's progress could not be read");
      expect(out).toContain(`Not proven: ${keys.length} keys still in flight`);
      expect(out).toMatch(/confirmed mismatches/);

      // The applier resumes and catches up: the gate opens.
      applier = (await bootPipeline(config, [ApplierModule])).app;
      await expectReplicated(config, r, keys, { timeoutMs: 120_000 });
      const after = await verify(config);
      expect(after.code).toBe(0);
      expect(after.report).toMatchObject({ verdict: 'parity', inFlight: 0, parityPct: 100 });
    } finally {
      await applier?.close();
    }
  });
});
