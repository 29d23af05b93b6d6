import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadConfig } from './config';
import { childEnv, ENV_NAMES, settingsOf, toEnv } from './env';

const ROOT = join(__dirname, '..', '..', '..');

/**
 * Variables read that are not configuration, each with why. Anything else an app or lib reads must be in the
 * config schema (libs/config/src/schema.ts), so it is validated, documented and settable through toEnv.
 */
const NOT_CONFIG: Record<string, string> = {
  // The private protocol between `cdc bench` and its inline bare-subscriber child (apps/cli/src/bench/
  // bare-subscriber.ts): passed by env rather than argv so a Redis password does not show in `ps`.
  CDC_BENCH_REDIS_URL: 'bench child protocol',
  CDC_BENCH_REDIS_DB: 'bench child protocol',
  CDC_BENCH_PAUSE_MS: 'bench child protocol',
};

/** Sources that ship: apps/ and libs/, minus tests and libs/testing (test plumbing reads TEST_* knobs). */
function shippedSources(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory())
      return e.name === 'node_modules' || path.endsWith(join('libs', 'testing')) ? [] : shippedSources(path);
    return /\.ts$/.test(e.name) && !/[.-]spec(-helper)?\.ts$|\.spec-helper\.ts$/.test(e.name) ? [path] : [];
  });
}

/** `process.env.X`, `process.env?.X`, `process.env['X']` and `const { X } = process.env`. */
export function envReads(source: string): string[] {
  const names: string[] = [];
  for (const m of source.matchAll(/process\.env\??\.([A-Za-z_][A-Za-z0-9_]*)/g)) names.push(m[1] as string);
  for (const m of source.matchAll(/process\.env\[\s*['"`]([^'"`]+)['"`]\s*\]/g)) names.push(m[1] as string);
  for (const m of source.matchAll(/\{([^}]*)\}\s*=\s*process\.env\b/g))
    for (const part of (m[1] as string).split(','))
      names.push(
        part
          .split(':')[0]
          ?.trim()
          .replace(/\s*=.*$/, '') ?? '',
      );
  return names.filter(Boolean);
}

describe('every variable an app or lib reads is in the config schema', () => {
  it('finds reads in every form it looks for', () => {
    expect(
      envReads("process.env.A; process.env?.B; process.env['C']; const { D, E: e, F = 1 } = process.env;"),
    ).toEqual(['A', 'B', 'C', 'D', 'E', 'F']);
  });

  it('no source under apps/ or libs/ reads a variable the schema lacks', () => {
    const files = [...shippedSources(join(ROOT, 'apps')), ...shippedSources(join(ROOT, 'libs'))];
    expect(files.length).toBeGreaterThan(100);
    const known = new Set<string>([...ENV_NAMES, ...Object.keys(NOT_CONFIG)]);
    const reads = files.flatMap((f) =>
      envReads(readFileSync(f, 'utf8')).map((name) => ({ name, file: relative(ROOT, f) })),
    );
    expect(reads.length).toBeGreaterThan(5); // the scan sees the reads that are there
    expect(reads.filter((r) => !known.has(r.name))).toEqual([]);
    expect(reads.map((r) => r.name)).toContain('CDC_HOME');
  });

  it('the allow-list holds only names really read (a stale entry is a lie)', () => {
    const all = [...shippedSources(join(ROOT, 'apps')), ...shippedSources(join(ROOT, 'libs'))].flatMap((f) =>
      envReads(readFileSync(f, 'utf8')),
    );
    for (const name of Object.keys(NOT_CONFIG)) expect(all, name).toContain(name);
    for (const name of Object.keys(NOT_CONFIG)) expect(ENV_NAMES, name).not.toContain(name);
  });
});

describe('toEnv', () => {
  it('writes typed settings under the schema names: numbers, booleans and lists as text, unset left out', () => {
    expect(
      toEnv({
        KAFKA_BROKERS: ['a:1', 'b:2'],
        CDC_TOPIC_PARTITIONS: 6,
        CDC_CREATE_TABLE: false,
        CDC_TABLE: undefined,
        LOG_LEVEL: 'warn',
      }),
    ).toEqual({
      KAFKA_BROKERS: 'a:1,b:2',
      CDC_TOPIC_PARTITIONS: '6',
      CDC_CREATE_TABLE: 'false',
      LOG_LEVEL: 'warn',
    });
    // @ts-expect-error a misspelt variable is a compile error
    toEnv({ KAFKA_BROKER: 'a:1' });
  });

  it('round-trips through the schema', () => {
    const config = loadConfig(
      toEnv({ KAFKA_BROKERS: ['a:1'], CDC_SOURCE_ID: 'users', CDC_CREATE_TABLE: false }),
    );
    expect(config).toMatchObject({ kafka: { brokers: ['a:1'] }, sourceId: 'users', createTable: false });
  });
});

describe('childEnv', () => {
  it("drops the parent's replicator settings, keeps the rest and the AWS chain, adds the child's", () => {
    const env = childEnv(
      { KAFKA_BROKERS: 'k:9092', HTTP_PORT: 8081 },
      {
        PATH: '/bin',
        CDC_TABLE: 'parents',
        REDIS_URL: 'redis://x:1',
        AWS_PROFILE: 'p',
        AWS_REGION: 'eu-west-1',
      },
    );
    expect(env).toEqual({
      PATH: '/bin',
      AWS_PROFILE: 'p',
      AWS_REGION: 'eu-west-1',
      KAFKA_BROKERS: 'k:9092',
      HTTP_PORT: '8081',
    });
  });
});

describe('settingsOf', () => {
  it('reproduces a config in another process: loadConfig(toEnv(settingsOf(c))) equals c', () => {
    for (const env of [
      { CDC_SOURCE_ID: 'users' },
      {
        REDIS_URL: 'redis://:pw@10.0.0.1:7000,10.0.0.2:7001',
        REDIS_DB: '2',
        KAFKA_BROKERS: 'k1:9092,k2:9092',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
        KAFKA_SASL_USERNAME: 'u',
        KAFKA_SASL_PASSWORD: 'p',
        KAFKA_SSL: 'true',
        DYNAMODB_ENDPOINT: 'http://127.0.0.1:8000',
        AWS_REGION: 'eu-west-1',
        CDC_SOURCE_ID: 'orders',
        CDC_TABLE: 'orders_v2',
        CDC_CREATE_TABLE: 'false',
        CDC_APPLIER_CONCURRENCY: '64',
        HTTP_PORT: '9000',
        LOG_LEVEL: 'debug',
        PROFILES_TABLE: 'profiles_x',
      },
      {
        REDIS_URL: 'redis://127.0.0.1:6379',
        REDIS_SENTINELS: 's1:26379,s2:26379',
        REDIS_SENTINEL_NAME: 'mymaster',
        REDIS_SENTINEL_PASSWORD: 'sp',
        REDIS_READ_FROM: 'replica',
      },
    ]) {
      const config = loadConfig(env);
      expect(loadConfig(toEnv(settingsOf(config)))).toEqual(config);
    }
  });

  it('carries every variable of the schema: each one set apart from its default survives the round trip', () => {
    // Every schema variable, each with a value other than its default. A variable added to the schema must be
    // added here (the first assertion), and to settingsOf (the round trip), or a child silently gets the default.
    const everything: Record<string, string> = {
      REDIS_URL: 'redis://:pw@10.0.0.1:7000',
      REDIS_DB: '3',
      REDIS_READ_FROM: 'replica',
      REDIS_REPLICA_URL: 'redis://10.0.0.9:7000',
      KAFKA_BROKERS: 'k1:9092',
      KAFKA_CLIENT_ID: 'cdc-x',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'plain',
      KAFKA_SASL_USERNAME: 'u',
      KAFKA_SASL_PASSWORD: 'p',
      DYNAMODB_ENDPOINT: 'http://127.0.0.1:8001',
      AWS_REGION: 'eu-west-2',
      CDC_SOURCE_ID: 'every',
      CDC_TABLE: 't_every',
      CDC_TOPIC: 'topic.every',
      CDC_TOPIC_PARTITIONS: '12',
      CDC_TOPIC_REPLICATION_FACTOR: '3',
      CDC_CREATE_TABLE: 'false',
      CDC_WRITER: 'w-every',
      CDC_TOMBSTONE_TTL_SECONDS: '3600',
      CDC_CAPTURE_BATCH_SIZE: '77',
      CDC_CAPTURE_LINGER_MS: '9',
      CDC_CAPTURE_NOTIFY_PAUSE_MS: '7',
      CDC_HEARTBEAT_INTERVAL_MS: '1500',
      CDC_HEARTBEAT_TIMEOUT_MS: '6500',
      CDC_RECONCILE_RATE: '123',
      CDC_MAX_EVENT_BYTES: '5000',
      CDC_APPLIER_CONCURRENCY: '5',
      CDC_APPLIER_GROUP: 'g-every',
      CDC_VERIFIER_GRACE_MS: '2500',
      CDC_VERIFIER_WINDOW_MS: '60000',
      CDC_VERIFIER_IN_FLIGHT_LIMIT_MS: '70000',
      CDC_READY_MAX_CONSUMER_LAG: '11',
      CDC_READY_MAX_LAG_P99_MS: '4000',
      CDC_STARTUP_TIMEOUT_MS: '4321',
      CDC_SHUTDOWN_TIMEOUT_MS: '5432',
      HTTP_PORT: '9191',
      LOG_LEVEL: 'warn',
      PROFILES_TABLE: 'p_every',
    };
    // Not carried by settingsOf, each for its reason: files (their contents are in the config, not the path),
    // the other Redis topologies (the Sentinel case above), AWS credentials and the region alias (the SDK's chain),
    // the CLI's home (a child runs in its own).
    const elsewhere = [
      'REDIS_TLS_CA_FILE',
      'KAFKA_SSL_CA_FILE',
      'REDIS_SENTINELS',
      'REDIS_SENTINEL_NAME',
      'REDIS_SENTINEL_PASSWORD',
      'AWS_DEFAULT_REGION',
      'AWS_ACCESS_KEY_ID',
      'AWS_SECRET_ACCESS_KEY',
      'CDC_HOME',
    ];
    expect([...Object.keys(everything), ...elsewhere].sort()).toEqual([...ENV_NAMES].sort());
    const config = loadConfig(everything);
    const defaults = loadConfig({ REDIS_URL: everything.REDIS_URL, KAFKA_BROKERS: 'k1:9092' });
    expect(config.shutdownTimeoutMs).not.toBe(defaults.shutdownTimeoutMs);
    expect(loadConfig(toEnv(settingsOf(config)))).toEqual(config);
  });

  it('leaves names derived from the source unset, so a child given another source derives its own', () => {
    const settings = settingsOf(loadConfig({ CDC_SOURCE_ID: 'a', CDC_TABLE: 'custom' }));
    expect(settings).toMatchObject({ CDC_SOURCE_ID: 'a', CDC_TABLE: 'custom' });
    expect(settings.CDC_TOPIC).toBeUndefined();
    expect(settings.CDC_APPLIER_GROUP).toBeUndefined();
    expect(
      loadConfig(toEnv({ ...settingsOf(loadConfig({ CDC_SOURCE_ID: 'a' })), CDC_SOURCE_ID: 'b' })),
    ).toMatchObject({
      table: 'cdc_b',
      topic: 'cdc.b.changes',
    });
  });
});
