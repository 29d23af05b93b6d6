import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { engines, findFreePort, uniqueId, waitFor, exited } from '@cdc/testing';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
const APPS = ['capture', 'applier', 'verifier'] as const;

/**
 * Each deployable boots on its own from the build output (`node dist/apps/<app>/main.js`), serves /health and
 * Prometheus /metrics, and stops on SIGTERM; a bad configuration stops it before it starts, naming the variable.
 */
describe('deployables boot on their own', () => {
  const children: ChildProcess[] = [];
  const e = engines();
  const source = uniqueId('boot');
  const env = {
    ...process.env,
    REDIS_URL: e.redisUrl,
    REDIS_DB: '3',
    KAFKA_BROKERS: e.kafkaBrokers,
    DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDC_SOURCE_ID: source,
    CDC_TOPIC_PARTITIONS: '2',
    LOG_LEVEL: 'warn',
  };

  afterAll(async () => {
    for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
  });

  it.each(APPS)('%s serves /health and /metrics, and exits 0 on SIGTERM', async (app) => {
    const main = join(ROOT, 'dist', 'apps', app, 'main.js');
    expect(existsSync(main), `${main} is missing: run \`npm run build\` first (npm install does it)`).toBe(
      true,
    );
    const port = await findFreePort();
    const child = spawn(process.execPath, [main], {
      env: { ...env, HTTP_PORT: String(port) },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    children.push(child);
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));

    const health = await waitFor(
      `${app} /health to report up`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${app} exited ${child.exitCode}: ${stderr}`);
        const res = await fetch(`http://127.0.0.1:${port}/health`);
        return res.ok
          ? ((await res.json()) as { status: string; info: Record<string, { status: string }> })
          : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(health.status).toBe('ok');
    expect(health.info[app]?.status).toBe('up');

    const metrics = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    expect(metrics).toContain(`# TYPE cdc_${app}_`);
    expect(metrics).toContain('cdc_process_');

    child.kill('SIGTERM');
    expect(await exited(child)).toBe(0);
  });

  it('refuses to start on bad configuration, naming every bad variable', async () => {
    const main = join(ROOT, 'dist', 'apps', 'capture', 'main.js');
    const child = spawn(process.execPath, [main], {
      env: { ...env, REDIS_URL: 'http://not-redis', CDC_APPLIER_CONCURRENCY: 'lots' },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    expect(await exited(child)).toBe(78);
    expect(stderr).toContain('REDIS_URL');
    expect(stderr).toContain('CDC_APPLIER_CONCURRENCY');
  });
});
