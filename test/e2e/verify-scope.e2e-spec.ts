import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplierModule, runReplay } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { createLogger, Metrics } from '@cdc/observability';
import { createRedisClient } from '@cdc/redis';
import { bootPipeline, exited, expectReplicated, readItem, testConfig, waitFor } from '@cdc/testing';
import { type ScanReport, VerifierModule, VerifierService } from '@cdc/verifier';
import type { INestApplicationContext } from '@nestjs/common';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'cdc.js');

type Report = ScanReport & {
  target: { table: string; liveTable: string; live: boolean | null };
  advice: string | null;
};

/**
 * Issue 13 parts 4 and 6 on the real engines, one pipeline (capture, applier, stream verifier) for the file:
 * keys left out by policy (a stream, values over the size limit) are their own class in `cdc verify` and the
 * stream check, outside parity, never advised for --repair; `cdc verify --table` checks a replay target and
 * never advises (or runs) a repair that would write into the live table instead.
 */
describe('cdc verify: what it checks, and what it advises', { timeout: 240_000 }, () => {
  const config = testConfig({ REDIS_DB: '6', CDC_MAX_EVENT_BYTES: '2048' }); // read guard at 4x = 8 KiB
  const home = mkdtempSync(join(tmpdir(), 'cdc-verify-scope-'));
  const redis = createRedisClient(config.require('redis').redis, 'verify-scope-e2e');
  const k = (name: string) => `${config.sourceId}:${name}`;
  let app: INestApplicationContext;

  beforeAll(async () => {
    await redis.connect();
    ({ app } = await bootPipeline(config, [CaptureModule, ApplierModule, VerifierModule]));
  });
  afterAll(async () => {
    await app.close();
    redis.disconnect();
    rmSync(home, { recursive: true, force: true });
  });

  async function cdc(args: string[], env: Record<string, string> = {}) {
    const { redis: r, kafka } = config.require('redis', 'kafka');
    const child = spawn(process.execPath, [CLI, ...args], {
      env: {
        ...process.env,
        CDC_HOME: home,
        REDIS_URL: r.url,
        REDIS_DB: String(r.db),
        KAFKA_BROKERS: kafka.brokers.join(','),
        DYNAMODB_ENDPOINT: config.dynamo.endpoint,
        CDC_SOURCE_ID: config.sourceId,
        CDC_TOPIC_PARTITIONS: '3',
        CDC_VERIFIER_GRACE_MS: '300',
        CDC_MAX_EVENT_BYTES: '2048',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_REGION: 'us-east-1',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    const code = await exited(child);
    return { code, out, err };
  }

  async function verify(args: string[], env: Record<string, string> = {}) {
    const { code, out, err } = await cdc(
      ['verify', '--json', '--match', `${config.sourceId}:*`, ...args],
      env,
    );
    if (!out.trim()) throw new Error(`cdc verify printed no report (exit ${code}); stderr:\n${err}`);
    return { code, report: JSON.parse(out) as Report };
  }

  it('a stream and oversized values are "not carried": counted apart, parity 100%, no repair advice', async () => {
    const carried = [k('ok:1'), k('ok:2')];
    for (const key of carried) await redis.set(key, 'fits');
    const stream = k('events');
    const guarded = k('big'); // 64 KiB string: over the read guard
    const encoded = k('wide'); // 3 KiB hash: under the guard, over the encoded limit
    await redis.xadd(stream, '*', 'field', 'value');
    await redis.set(guarded, 'x'.repeat(64 * 1024));
    await redis.hset(encoded, { a: 'y'.repeat(1500), b: 'z'.repeat(1500) });
    await expectReplicated(config, redis, carried);
    for (const key of [stream, guarded, encoded])
      await waitFor(`${key} tombstoned by capture`, () => readItem(config, key), {
        accept: (i) => i.deleted,
      });

    const { code, report } = await verify([]);
    expect(code).toBe(0);
    expect(report).toMatchObject({
      verdict: 'parity',
      parityPct: 100,
      mismatches: 0,
      checked: 2,
      advice: null,
    });
    expect(report.classes['not-carried']).toBe(3);
    expect(report.notCarried).toEqual({ UNSUPPORTED_TYPE: 1, VALUE_TOO_LARGE: 2 });
    expect([...(report.samples['not-carried'] ?? [])].sort()).toEqual([guarded, stream, encoded].sort());

    const text = await cdc(['verify', '--match', `${config.sourceId}:*`]);
    expect(text.code).toBe(0);
    expect(text.out).toContain(
      'Not carried: 3 keys left out by policy (1 UNSUPPORTED_TYPE, 2 VALUE_TOO_LARGE)',
    );
    expect(text.out).not.toContain('--repair');

    // The stream check: the tombstones capture wrote for them are not-carried records, not mismatches.
    const verifier = app.get(VerifierService);
    for (const key of [stream, guarded, encoded])
      await waitFor(`${key} not carried in the stream check`, () => verifier.ledger.get(Buffer.from(key)), {
        accept: (v) => v.verdict === 'not-carried',
      });
    expect(verifier.ledger.summary().parity).toBe(1);
  });

  it('--table checks a replay target; --repair is refused there and the advice is the replay', async () => {
    const keys = Array.from({ length: 10 }, (_, i) => k(`r:${i}`));
    for (const key of keys) await redis.set(key, `v-${key}`);
    await expectReplicated(config, redis, keys);
    const target = `${config.table}_replay`;
    const summary = await runReplay(config, new Metrics({ defaultMetrics: false }), createLogger('warn'), {
      start: { kind: 'beginning' },
      table: target,
      createTable: true,
      checkpointDir: join(home, 'replay'),
    });
    expect(summary.completed).toBe(true);
    // Written after the replay's end offsets: the live table gets it, the replay target does not.
    const late = k('r:late');
    await redis.set(late, 'after the replay');
    await expectReplicated(config, redis, [late]);

    const onTarget = await verify(['--table', target, '--match', `${config.sourceId}:r:*`]);
    expect(onTarget.code).toBe(2);
    expect(onTarget.report).toMatchObject({
      table: target,
      mismatches: 1,
      target: { table: target, live: false },
    });
    expect(onTarget.report.classes.missing).toBe(1);
    expect(onTarget.report.samples.missing).toEqual([late]);
    expect(onTarget.report.advice).toContain(`npx cdc replay --to-table ${target} --from-beginning`);
    expect(onTarget.report.advice).not.toMatch(/verify --repair/);

    // The same table named by CDC_TABLE: no applier group commits for it, so it is not live either.
    const byEnv = await verify(['--match', `${config.sourceId}:r:*`], { CDC_TABLE: target });
    expect(byEnv.report.target).toMatchObject({ table: target, live: false });
    expect(byEnv.report.advice).toContain('no applier feeds table');

    const refused = await cdc(['verify', '--table', target, '--repair']);
    expect(refused.code).toBe(64);
    expect(refused.err).toContain('--repair refused');
    expect(refused.err).toContain(`npx cdc replay --to-table ${target}`);
    expect((await readItem({ ...config, table: target } as typeof config, late))?.value ?? null).toBeNull();

    // The live table itself is live: there, a mismatch is advised for --repair (none here: parity).
    const live = await verify(['--match', `${config.sourceId}:r:*`]);
    expect(live.report.target).toMatchObject({ table: config.table, live: true });
    expect(live.report.verdict).toBe('parity');
  });
});
