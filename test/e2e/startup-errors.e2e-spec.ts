import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  engines,
  findFreePort,
  spawnBuilt,
  startRedisServer,
  type TestRedisServer,
  uniqueId,
  waitFor,
} from '@cdc/testing';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Every start-up failure names the dependency, where it was looked for, what went wrong and the fix, and exits 69
 * (EX_UNAVAILABLE); never the old "cannot listen on :8099 (...); set HTTP_PORT". The built deployables and the
 * CLI run as child processes against real engines: a port nothing listens on, a redis-server with requirepass,
 * an environment without AWS credentials, a port this test holds.
 */
describe('start-up names what failed', () => {
  const e = engines();
  const home = mkdtempSync(join(tmpdir(), 'cdc-startup-'));
  let secured: TestRedisServer;
  const base = (source = uniqueId('boot')): Record<string, string> => ({
    REDIS_URL: e.redisUrl,
    REDIS_DB: '4',
    KAFKA_BROKERS: e.kafkaBrokers,
    DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    CDC_SOURCE_ID: source,
    CDC_TOPIC_PARTITIONS: '2',
    CDC_STARTUP_TIMEOUT_MS: '2000',
    CDC_HOME: home,
    HOME: home, // no ~/.aws of the machine's
  });
  /** A port nothing listens on. */
  const nobody = () => findFreePort();

  beforeAll(async () => {
    secured = await startRedisServer({ args: ['--requirepass', 's3cret'] });
  });
  afterAll(async () => {
    await secured?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('Redis unreachable: capture names Redis and its address, logs each attempt, exits 69', async () => {
    const port = await nobody();
    const p = spawnBuilt('capture', [], {
      ...base(),
      REDIS_URL: `redis://127.0.0.1:${port}`,
      HTTP_PORT: String(await findFreePort()),
    });
    const { code } = await p.exit;
    expect(code, p.output()).toBe(69);
    expect(p.output()).toContain(
      `Redis at redis://127.0.0.1:${port}: unreachable (connect ECONNREFUSED 127.0.0.1:${port})`,
    );
    expect(p.output()).toContain('point REDIS_URL at a running server');
    expect(p.output()).toMatch(/Redis at [^ ]+: unreachable .*; attempt 1, retrying in 500 ms/);
    expect(p.output()).not.toContain('HTTP_PORT');
  });

  it('Redis with a password: a missing one and a wrong one are told apart, at once (no retries)', async () => {
    const missing = spawnBuilt('verifier', [], {
      ...base(),
      REDIS_URL: secured.url,
      HTTP_PORT: String(await findFreePort()),
      CDC_STARTUP_TIMEOUT_MS: '60000',
    });
    const wrong = spawnBuilt('cli', ['run'], {
      ...base(),
      REDIS_URL: `redis://:nope@127.0.0.1:${secured.port}`,
      HTTP_PORT: String(await findFreePort()),
      CDC_STARTUP_TIMEOUT_MS: '60000',
    });
    const [m, w] = await Promise.all([missing.exit, wrong.exit]);
    expect(m.code, missing.output()).toBe(69);
    expect(missing.output()).toContain(
      `Redis at ${secured.url}: the server requires a password (NOAUTH Authentication required.); put it in REDIS_URL`,
    );
    expect(w.code, wrong.output()).toBe(69);
    expect(wrong.output()).toContain(
      `cdc: Redis at redis://:***@127.0.0.1:${secured.port}: authentication failed (WRONGPASS`,
    );
    expect(wrong.output()).not.toContain('nope'); // the password is never shown
    for (const p of [missing, wrong]) expect(p.output()).not.toContain('retrying');
  });

  it('Kafka unreachable: /health says "starting" meanwhile; one line per attempt, no client JSON; exits 69', async () => {
    const port = await nobody();
    const http = await findFreePort();
    const p = spawnBuilt('applier', [], {
      ...base(),
      KAFKA_BROKERS: `127.0.0.1:${port}`,
      HTTP_PORT: String(http),
      CDC_STARTUP_TIMEOUT_MS: '4000',
    });
    // The port is bound before the checks: the health probe answers, not ready, naming the step.
    const starting = await waitFor(
      '/health to answer while Kafka is being checked',
      async () => {
        const res = await fetch(`http://127.0.0.1:${http}/health`);
        return { status: res.status, body: await res.json() };
      },
      { timeoutMs: 30_000, intervalMs: 100 },
    );
    expect(starting).toEqual({ status: 503, body: { status: 'starting', step: 'checking Kafka' } });
    const { code } = await p.exit;
    const out = p.output();
    expect(code, out).toBe(69);
    expect(out).toContain(`Kafka at 127.0.0.1:${port}: unreachable (connect ECONNREFUSED 127.0.0.1:${port})`);
    expect(out).toMatch(
      /\(\d+ attempts in \d+ s\); start Kafka there .* or point KAFKA_BROKERS at a running broker/,
    );
    const attempts = out.split('\n').filter((l) => /"attempt":\d+/.test(l));
    const final = /\((\d+) attempts in/.exec(out);
    expect(attempts.length).toBe(Number(final?.[1]) - 1); // one line per failed attempt before the last
    expect(out).not.toContain('kafkajs'); // no raw client JSON at the default level
    expect(out).not.toContain('"stack"');
  });

  it('SIGTERM while a dependency is being waited for: the process stops at once', async () => {
    const http = await findFreePort();
    const p = spawnBuilt('applier', [], {
      ...base(),
      KAFKA_BROKERS: `127.0.0.1:${await nobody()}`,
      HTTP_PORT: String(http),
      CDC_STARTUP_TIMEOUT_MS: '600000',
    });
    await waitFor(
      'the applier to be checking Kafka',
      async () => (await fetch(`http://127.0.0.1:${http}/health`)).status === 503 || undefined,
      {
        timeoutMs: 30_000,
        intervalMs: 100,
      },
    );
    p.signal('SIGTERM');
    const { code, ms } = await p.exit;
    expect(code, p.output()).toBe(0);
    expect(ms).toBeLessThan(10_000);
  });

  it('DynamoDB unreachable: the verifier names DynamoDB and its endpoint, exits 69', async () => {
    const port = await nobody();
    const p = spawnBuilt('verifier', [], {
      ...base(),
      DYNAMODB_ENDPOINT: `http://127.0.0.1:${port}`,
      HTTP_PORT: String(await findFreePort()),
    });
    const { code } = await p.exit;
    expect(code, p.output()).toBe(69);
    expect(p.output()).toContain(`DynamoDB at http://127.0.0.1:${port}: unreachable (connect ECONNREFUSED`);
    expect(p.output()).toContain('point DYNAMODB_ENDPOINT at a running one');
  });

  it('DynamoDB without AWS credentials: `cdc run` says DynamoDB Local accepts any, exits 69', async () => {
    const env: Record<string, string | undefined> = {
      ...base(),
      HTTP_PORT: String(await findFreePort()),
      AWS_ACCESS_KEY_ID: undefined,
      AWS_SECRET_ACCESS_KEY: undefined,
      AWS_EC2_METADATA_DISABLED: 'true', // no instance metadata service to wait for here
      AWS_CONFIG_FILE: join(home, 'none'),
      AWS_SHARED_CREDENTIALS_FILE: join(home, 'none'),
    };
    const p = spawnBuilt('cli', ['run'], env);
    const { code } = await p.exit;
    expect(code, p.output()).toBe(69);
    expect(p.output()).toContain(
      `cdc: DynamoDB at ${e.dynamodbEndpoint}: no AWS credentials (Could not load credentials from any providers); ` +
        'DynamoDB Local accepts any: export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local',
    );
  });

  describe('HTTP port taken', () => {
    const source = uniqueId('port');
    const group = `cdc-applier.${source}.cdc_${source}`;
    let held: Server;
    let heldPort: number;
    let running: ReturnType<typeof spawnBuilt>;
    const admin = new Kafka({ brokers: [e.kafkaBrokers], logLevel: logLevel.NOTHING }).admin();

    beforeAll(async () => {
      heldPort = await findFreePort();
      held = createServer();
      await new Promise<void>((resolve) => held.listen(heldPort, '0.0.0.0', resolve));
      await admin.connect();
      // The replicator already running, alone in its consumer group; debug shows kafkajs' join lines.
      const http = await findFreePort();
      running = spawnBuilt('applier', [], { ...base(source), HTTP_PORT: String(http), LOG_LEVEL: 'debug' });
      await waitFor(
        'the running applier to be up',
        async () => {
          if (running.child.exitCode !== null) throw new Error(running.output());
          return (await fetch(`http://127.0.0.1:${http}/health`)).ok || undefined;
        },
        { timeoutMs: 60_000, intervalMs: 250 },
      );
    });
    afterAll(async () => {
      running?.signal('SIGTERM');
      await running?.exit;
      await admin.disconnect();
      await new Promise((resolve) => held?.close(resolve));
    });

    const joins = () => running.output().match(/Consumer has joined the group/g)?.length ?? 0;

    it('a second `cdc run` and a second applier fail on the port, and never join the running group', async () => {
      const before = (await admin.describeGroups([group])).groups[0];
      expect(before?.members).toHaveLength(1);
      expect(joins()).toBe(1);

      const cli = spawnBuilt('cli', ['run'], { ...base(source), HTTP_PORT: String(heldPort) });
      const app = spawnBuilt('applier', [], { ...base(source), HTTP_PORT: String(heldPort) });
      const [c, a] = await Promise.all([cli.exit, app.exit]);
      expect(c.code, cli.output()).toBe(69);
      expect(cli.output()).toContain(
        `cdc: HTTP server at 127.0.0.1:${heldPort}: the port is already in use (EADDRINUSE)`,
      );
      expect(cli.output()).toContain('set HTTP_PORT to a free port');
      expect(a.code, app.output()).toBe(69);
      expect(app.output()).toContain(`HTTP server at 0.0.0.0:${heldPort}: the port is already in use`);

      // A member that joined and left would have made the running one rejoin within a heartbeat (3 s).
      await new Promise((r) => setTimeout(r, 4_000));
      const after = (await admin.describeGroups([group])).groups[0];
      expect(after?.state).toBe('Stable');
      expect(after?.members.map((m) => m.memberId)).toEqual(before?.members.map((m) => m.memberId));
      expect(joins()).toBe(1);
    });
  });
});
