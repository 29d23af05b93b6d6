import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type StackEndpoints, stackDown, stackUp } from '@cdc/stack';
import { type BuiltProcess, engines, findFreePort, spawnBuilt, uniqueId, waitFor } from '@cdc/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ROOT = join(__dirname, '..', '..');
/** CDC_SHUTDOWN_TIMEOUT_MS for these runs (default 15 s), and what the exit itself may add under load. */
const DEADLINE_MS = 6_000;
const MARGIN_MS = 6_000;

type Gone = 'Redis' | 'Kafka' | 'DynamoDB' | 'all three';

/**
 * `cdc run` (capture, applier and verifier in one process, endpoints set) whose engines went away stops on the
 * FIRST SIGTERM within CDC_SHUTDOWN_TIMEOUT_MS, and says how it stopped. The engines that go away belong to a
 * private stack of this file (redis-server, a Kafka broker, DynamoDB Local), stopped the way `cdc stack down`
 * stops it; the others are the suite's shared ones. Four replicators, one per case, share the private stack:
 * one loses Redis, one Kafka, one DynamoDB, one all three, at the same moment.
 */
describe('shutdown always ends', () => {
  const shared = engines();
  const stateDir = mkdtempSync(join(tmpdir(), 'cdc-shutdown-stack-'));
  const home = mkdtempSync(join(tmpdir(), 'cdc-shutdown-'));
  const results = new Map<Gone, { code: number | null | 'hung'; ms: number; output: string }>();

  const endpointsFor = (gone: Gone, p: StackEndpoints) => ({
    REDIS_URL: gone === 'Redis' || gone === 'all three' ? p.redisUrl : shared.redisUrl,
    KAFKA_BROKERS: gone === 'Kafka' || gone === 'all three' ? p.kafkaBrokers : shared.kafkaBrokers,
    DYNAMODB_ENDPOINT:
      gone === 'DynamoDB' || gone === 'all three' ? p.dynamodbEndpoint : shared.dynamodbEndpoint,
  });
  const cases: Array<{ gone: Gone; db: string }> = [
    { gone: 'Redis', db: '11' },
    { gone: 'Kafka', db: '12' },
    { gone: 'DynamoDB', db: '13' },
    { gone: 'all three', db: '14' },
  ];

  beforeAll(async () => {
    const { endpoints } = await stackUp({
      stateDir,
      cacheDir: join(ROOT, '.cdc', 'engines'),
      fastStart: true,
    });
    const running = new Map<Gone, { p: BuiltProcess; port: number }>();
    for (const { gone, db } of cases) {
      const port = await findFreePort();
      const p = spawnBuilt('cli', ['run'], {
        ...endpointsFor(gone, endpoints),
        REDIS_DB: db,
        AWS_REGION: 'us-east-1',
        AWS_ACCESS_KEY_ID: 'local',
        AWS_SECRET_ACCESS_KEY: 'local',
        AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
        CDC_SOURCE_ID: uniqueId('down'),
        CDC_TOPIC_PARTITIONS: '2',
        CDC_SHUTDOWN_TIMEOUT_MS: String(DEADLINE_MS),
        CDC_HOME: home,
        HTTP_PORT: String(port),
      });
      running.set(gone, { p, port });
    }
    for (const [gone, { p, port }] of running)
      await waitFor(
        `cdc run (${gone} to go) to be up`,
        async () => {
          if (p.child.exitCode !== null) throw new Error(`exited ${p.child.exitCode}: ${p.output()}`);
          return (await fetch(`http://127.0.0.1:${port}/health`)).ok || undefined;
        },
        { timeoutMs: 90_000, intervalMs: 250 },
      );

    await stackDown({ stateDir }); // what `cdc stack down` does under a running replicator
    await new Promise((r) => setTimeout(r, 1_500)); // the clients notice and start reconnecting
    for (const { p } of running.values()) p.signal('SIGTERM'); // once
    await Promise.all(
      [...running].map(async ([gone, { p }]) => {
        const hung = new Promise<'hung'>((r) => setTimeout(() => r('hung'), DEADLINE_MS + 30_000));
        const end = await Promise.race([p.exit, hung]);
        if (end === 'hung') p.child.kill('SIGKILL');
        results.set(gone, {
          code: end === 'hung' ? 'hung' : end.code,
          ms: end === 'hung' ? Infinity : end.ms,
          output: p.output(),
        });
      }),
    );
  }, 240_000);

  afterAll(async () => {
    await stackDown({ stateDir }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
    rmSync(home, { recursive: true, force: true });
  });

  it.each(cases.map((c) => c.gone))(
    '%s gone: exits within the deadline on the first SIGTERM, and says how it stopped',
    (gone) => {
      const r = results.get(gone);
      expect(r, 'no result').toBeDefined();
      const { code, ms, output } = r as { code: number | null | 'hung'; ms: number; output: string };
      expect(code, output.slice(-3_000)).not.toBe('hung');
      expect(ms).toBeLessThan(DEADLINE_MS + MARGIN_MS);
      // 0: each stage drained or said what it gave up on within its share of the deadline (stageBudget), so
      // even with every engine gone the deadline itself (exit 75) is never what stops it.
      expect(code, output.slice(-3_000)).toBe(0);
      expect(output).toContain('Stopped. Last status:');
      expect(output).not.toMatch(/still waiting for \w+\.\w+/);
    },
  );
});
