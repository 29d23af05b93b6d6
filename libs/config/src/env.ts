import { type CdcConfig, names } from './config';
import { envSchema, type Env } from './schema';

/** A variable the schema defines: the only names a child's environment may be built from. */
export type EnvName = keyof Env;
export type EnvValue = string | number | boolean | readonly string[];
/** Typed settings keyed by the schema's own names, so a misspelt variable is a compile error. */
export type EnvSettings = { readonly [K in EnvName]?: EnvValue };

/** Every name the schema defines, in schema order. */
export const ENV_NAMES: readonly EnvName[] = Object.keys(envSchema.innerType().shape) as EnvName[];

/**
 * Variables from typed settings: numbers and booleans as text, lists comma-joined (KAFKA_BROKERS), unset
 * (undefined) ones left out. Pure.
 */
export function toEnv(settings: EnvSettings): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(settings) as Array<[EnvName, EnvValue | undefined]>) {
    if (value === undefined) continue;
    env[name] = Array.isArray(value) ? value.join(',') : String(value);
  }
  return env;
}

/**
 * A child process's environment: the parent's, minus every replicator setting the schema defines (so nothing
 * of the parent's configuration leaks in unasked), plus `settings`. The AWS SDK's own chain (credentials,
 * region, profile) is inherited, as the SDK would read it.
 */
export function childEnv(
  settings: EnvSettings,
  parent: NodeJS.ProcessEnv = process.env,
): Record<string, string> {
  const replicator = new Set<string>(ENV_NAMES.filter((n) => !n.startsWith('AWS_')));
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(parent)) if (v !== undefined && !replicator.has(k)) env[k] = v;
  return { ...env, ...toEnv(settings) };
}

/** Sets typed settings on this process's environment (the CLI pointing its own config at a stack). */
export function assignEnv(settings: EnvSettings, target: NodeJS.ProcessEnv = process.env): void {
  Object.assign(target, toEnv(settings));
}

/** DynamoDB Local accepts any credentials made of letters and digits; real ones (and a region) are kept. */
export function localAwsDefaults(env: NodeJS.ProcessEnv = process.env): EnvSettings {
  return {
    AWS_ACCESS_KEY_ID: env.AWS_ACCESS_KEY_ID ?? 'local',
    AWS_SECRET_ACCESS_KEY: env.AWS_SECRET_ACCESS_KEY ?? 'local',
    AWS_REGION: env.AWS_REGION ?? 'us-east-1',
  };
}

/**
 * The settings that reproduce `config` in another process (a test or the CLI starting a deployable with its own
 * configuration). TLS CA files are not carried (the config holds their contents, not their paths): pass
 * REDIS_TLS_CA_FILE / KAFKA_SSL_CA_FILE alongside when they are used.
 */
export function settingsOf(config: CdcConfig): EnvSettings {
  const { redis, kafka } = config;
  const seeds = redis?.seeds.slice(1).map((s) => `${s.host}:${s.port}`) ?? [];
  return {
    ...(redis
      ? {
          REDIS_URL: [redis.url, ...seeds].join(','),
          REDIS_DB: redis.db,
          REDIS_READ_FROM: redis.readFrom,
          REDIS_REPLICA_URL: redis.replicaUrl,
          REDIS_SENTINELS: redis.sentinel?.nodes.map((n) => `${n.host}:${n.port}`),
          REDIS_SENTINEL_NAME: redis.sentinel?.name,
          REDIS_SENTINEL_PASSWORD: redis.sentinel?.password,
        }
      : {}),
    ...(kafka
      ? {
          KAFKA_BROKERS: kafka.brokers,
          KAFKA_CLIENT_ID: kafka.clientId,
          KAFKA_SSL: kafka.ssl !== false,
          KAFKA_SASL_MECHANISM: kafka.sasl?.mechanism,
          KAFKA_SASL_USERNAME: kafka.sasl?.username,
          KAFKA_SASL_PASSWORD: kafka.sasl?.password,
        }
      : {}),
    DYNAMODB_ENDPOINT: config.dynamo.endpoint,
    AWS_REGION: config.dynamo.region,
    CDC_SOURCE_ID: config.sourceId,
    // Derived names only when set apart from the source's, so an overridden CDC_SOURCE_ID derives them anew.
    CDC_TABLE: derived(config.table, names.table(config.sourceId)),
    CDC_TOPIC: derived(config.topic, names.topic(config.sourceId)),
    CDC_TOPIC_PARTITIONS: config.topicPartitions,
    CDC_TOPIC_REPLICATION_FACTOR: config.topicReplicationFactor,
    CDC_CREATE_TABLE: config.createTable,
    CDC_WRITER: derived(config.writer, `cdc-replicator/${config.sourceId}`),
    CDC_TOMBSTONE_TTL_SECONDS: config.tombstoneTtlSeconds,
    CDC_CAPTURE_BATCH_SIZE: config.captureBatchSize,
    CDC_CAPTURE_LINGER_MS: config.captureLingerMs,
    CDC_CAPTURE_NOTIFY_PAUSE_MS: config.captureNotifyPauseMs,
    CDC_HEARTBEAT_INTERVAL_MS: config.heartbeatIntervalMs,
    CDC_HEARTBEAT_TIMEOUT_MS: config.heartbeatTimeoutMs,
    CDC_RECONCILE_RATE: config.reconcileRate,
    CDC_MAX_EVENT_BYTES: config.maxEventBytes,
    CDC_APPLIER_CONCURRENCY: config.applierConcurrency,
    CDC_APPLIER_GROUP: derived(config.applierGroup, names.applierGroup(config.sourceId, config.table)),
    CDC_VERIFIER_GRACE_MS: config.verifierGraceMs,
    CDC_VERIFIER_WINDOW_MS: config.verifierWindowMs,
    CDC_VERIFIER_IN_FLIGHT_LIMIT_MS: config.verifierInFlightLimitMs,
    CDC_READY_MAX_CONSUMER_LAG: config.readyMaxConsumerLag,
    CDC_READY_MAX_LAG_P99_MS: config.readyMaxLagP99Ms,
    CDC_STARTUP_TIMEOUT_MS: config.startupTimeoutMs,
    CDC_SHUTDOWN_TIMEOUT_MS: config.shutdownTimeoutMs,
    HTTP_PORT: config.httpPort,
    LOG_LEVEL: config.logLevel,
    PROFILES_TABLE: config.profilesTable,
  };
}

const derived = (value: string, byDefault: string): string | undefined =>
  value === byDefault ? undefined : value;
