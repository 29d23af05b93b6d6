import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { controlKeys, createRedisClient, type GapRecord, parseGapRecord } from '@cdc/redis';
import { bootPipeline, expectReplicated, findFreePort, testConfig, waitFor, exited } from '@cdc/testing';
import type { StatusReport } from '@cdc/verifier';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 5 part 4: the cutover verdict flips from NOT READY to READY on the real engines, seen the two ways an
 * operator reads it: `cdc status --json` (the built CLI; exit 0 / 2) and the verifier app's /status (200 / 503).
 * Capture and the applier run in-process, the verifier as its own process (it serves /status and publishes the
 * stream parity window). Redis DB 11 (this brief's, shared with stream-checkpoints.int-spec.ts, which may run at
 * the same time): nothing is flushed, and `cdc verify --match` keeps the scan to this test's keys.
 */
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'cdc.js');
const VERIFIER = join(ROOT, 'dist', 'apps', 'verifier', 'main.js');
const DB = '11';

describe('cutover readiness: cdc status and /status', () => {
  // The lag threshold is set out of reach: this test is about the verdict's logic, never about speed.
  const config = testConfig({ REDIS_DB: DB, CDC_READY_MAX_LAG_P99_MS: '600000' });
  const home = mkdtempSync(join(tmpdir(), 'cdc-status-'));
  const { redis: r, kafka: k } = config.require('redis', 'kafka');
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    CDC_HOME: home,
    REDIS_URL: r.url,
    REDIS_DB: DB,
    KAFKA_BROKERS: k.brokers.join(','),
    DYNAMODB_ENDPOINT: config.dynamo.endpoint,
    CDC_SOURCE_ID: config.sourceId,
    CDC_TOPIC_PARTITIONS: '3',
    CDC_VERIFIER_GRACE_MS: '500',
    CDC_READY_MAX_LAG_P99_MS: '600000',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_REGION: 'us-east-1',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    LOG_LEVEL: 'warn',
  };
  let app: INestApplicationContext | undefined;
  let verifier: ChildProcess | undefined;
  let verifierErr = '';
  let redis: Redis;
  let port: number;
  const keys = Array.from({ length: 20 }, (_, i) => `${config.sourceId}:k${i}`);

  async function cli(...args: string[]): Promise<{ code: number | null; out: string; err: string }> {
    const child = spawn(process.execPath, [CLI, ...args], { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    return { code: await exited(child), out, err };
  }

  async function cliStatus(): Promise<{ code: number | null; report: StatusReport }> {
    const { code, out, err } = await cli('status', '--json');
    if (code !== 0 && code !== 2) throw new Error(`cdc status exited ${code}: ${err}`);
    return { code, report: JSON.parse(out) as StatusReport };
  }

  async function httpStatus(): Promise<{ code: number; report: StatusReport }> {
    if (verifier?.exitCode !== null) throw new Error(`the verifier exited: ${verifierErr}`);
    const res = await fetch(`http://127.0.0.1:${port}/status`);
    return { code: res.status, report: (await res.json()) as StatusReport };
  }

  const failing = (report: StatusReport) => report.checks.filter((c) => !c.ok).map((c) => c.name);

  async function gaps(): Promise<GapRecord | undefined> {
    return parseGapRecord(await redis.hgetall(controlKeys.gaps(config.sourceId))) ?? undefined;
  }

  beforeAll(async () => {
    expect(existsSync(CLI) && existsSync(VERIFIER), 'run `node scripts/build.mjs` first').toBe(true);
    redis = createRedisClient(r, 'e2e-status');
    await redis.connect();
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    port = await findFreePort();
    verifier = spawn(process.execPath, [VERIFIER], {
      env: { ...env, HTTP_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    verifier.stderr?.on('data', (d: Buffer) => (verifierErr += d.toString()));
    await waitFor('the verifier to serve /status', () => httpStatus().catch(() => undefined), {
      timeoutMs: 60_000,
      intervalMs: 250,
    });
  }, 120_000);

  afterAll(async () => {
    if (verifier && verifier.exitCode === null) {
      verifier.kill('SIGTERM');
      await exited(verifier);
    }
    await app?.close();
    await redis?.del(...keys); // DB 11 keeps no data keys between runs (capture's rescans would carry them)
    redis?.disconnect();
    rmSync(home, { recursive: true, force: true });
  });

  it('is NOT READY with its reasons, then READY once drained, verified and gap-free', async () => {
    for (const [i, key] of keys.entries()) await redis.set(key, `v${i}`);

    // No scan has run: NOT READY, through both doors, with the reason and what to do.
    const first = await cliStatus();
    expect(first.code).toBe(2);
    expect(first.report.verdict).toBe('NOT READY');
    expect(first.report.reasons).toContain('no complete scan yet: run cdc verify');
    const http = await httpStatus();
    expect(http.code).toBe(503);
    expect(http.report.verdict).toBe('NOT READY');
    expect(failing(http.report)).toContain('scan');
    expect(http.report.capture.gaps).toMatchObject({ gaps: 0, lastGapAt: null });

    // Drained into DynamoDB, then the two-sided scan leaves its summary behind.
    await expectReplicated(config, redis, keys);
    const verify = await cli('verify', '--json', '--match', `${config.sourceId}:*`);
    expect(verify.code, verify.err).toBe(0);

    // A notification gap (the subscriber's connection killed): capture records it and heals it, but the scan
    // is now older than the gap, so the verdict stays NOT READY until the next scan.
    const clients = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
    const subscriber = clients
      .split('\n')
      .find((line) => line.includes('name=cdc-capture-sub') && line.includes(` db=${DB} `));
    const id = /(?:^|\s)id=(\d+)/.exec(subscriber ?? '')?.[1];
    expect(id, 'the capture subscriber on DB 11').toBeDefined();
    await redis.client('KILL', 'ID', id as string);
    const gap = await waitFor('the gap recorded and healed', gaps, {
      accept: (g) => g.lastGapCause === 'reconnect' && (g.lastHealedAt ?? 0) >= (g.lastGapAt ?? Infinity),
      timeoutMs: 60_000,
    });
    expect(gap.gaps).toBe(1);
    const afterGap = await waitFor('every check but the scan to pass', httpStatus, {
      accept: (s) => failing(s.report).join() === 'scan',
      timeoutMs: 90_000,
      intervalMs: 500,
    });
    expect(afterGap.code).toBe(503);
    expect(afterGap.report.reasons.join()).toContain('older than the last gap');
    expect(afterGap.report.capture.gapFreeSince).toBe(gap.lastHealedAt);

    const again = await cli('verify', '--json', '--match', `${config.sourceId}:*`);
    expect(again.code, again.err).toBe(0);
    const ready = await waitFor('/status to say READY', httpStatus, {
      accept: (s) => s.code === 200,
      timeoutMs: 60_000,
      intervalMs: 500,
    });
    expect(ready.report).toMatchObject({ verdict: 'READY', reasons: [] });
    expect(ready.report.dlq.depth).toBe(0);
    expect(ready.report.streamParity?.classes.match).toBeGreaterThan(0);
    const last = await cliStatus();
    expect(last.code).toBe(0);
    expect(last.report.verdict).toBe('READY');
    expect(last.report.lastScan?.parityPct).toBe(100);

    // The human view says the same.
    const text = await cli('status');
    expect(text.code).toBe(0);
    expect(text.out).toContain('READY: every check passed.');
  }, 300_000); // generous on a shared, noisy box: never a speed check
});
