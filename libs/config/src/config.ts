import { readFileSync } from 'node:fs';
import { envSchema, type ParsedEnv } from './schema';

export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(
      `Invalid configuration (${problems.length} problem${problems.length > 1 ? 's' : ''}):\n  - ${problems.join('\n  - ')}`,
    );
    this.name = 'ConfigError';
  }
}

export interface RedisConfig {
  /** The primary; with Sentinel only its credentials and scheme are used (the address comes from Sentinel). */
  readonly url: string;
  /** Every node REDIS_URL names (a cluster may list several seeds); the first is `url`'s. */
  readonly seeds: ReadonlyArray<{ readonly host: string; readonly port: number }>;
  readonly db: number;
  readonly tlsCa?: string;
  /** Where capture, snapshot, reconciliation and the verifier read: the primary or one of its replicas. */
  readonly readFrom: 'primary' | 'replica';
  /** One replica's own address (replica mode); unset = discovered from the primary or from Sentinel. */
  readonly replicaUrl?: string;
  readonly sentinel?: {
    readonly nodes: ReadonlyArray<{ readonly host: string; readonly port: number }>;
    readonly name: string;
    readonly password?: string;
  };
}
export interface KafkaConfig {
  readonly brokers: readonly string[];
  readonly clientId: string;
  readonly ssl: boolean | { readonly ca: string[] };
  readonly sasl?: {
    readonly mechanism: 'scram-sha-256' | 'scram-sha-512' | 'plain';
    readonly username: string;
    readonly password: string;
  };
}
export interface DynamoConfig {
  /** Unset = AWS itself; credentials always come from the SDK's default provider chain. */
  readonly endpoint?: string;
  readonly region: string;
}

/** The design's naming rules (topics, groups, tables per source), shared by the config and the reusable applier. */
export const names = {
  table: (source: string) => `cdc_${source}`,
  topic: (source: string) => `cdc.${source}.changes`,
  dlqTopic: (topic: string) => `${topic}.dlq`,
  /** Compacted: one resolution (accepted, redriven) per DLQ record, keyed "partition:offset" (`cdc dlq`). */
  dlqAcceptedTopic: (dlqTopic: string) => `${dlqTopic}.accepted`,
  applierGroup: (source: string, table: string) => `cdc-applier.${source}.${table}`,
  replayGroup: (source: string, table: string) => `cdc-replay.${source}.${table}`,
} as const;

/** The parsed, typed configuration. A class so Nest can inject it by type. */
export class CdcConfig {
  readonly redis?: RedisConfig;
  readonly kafka?: KafkaConfig;
  readonly dynamo: DynamoConfig;
  readonly sourceId: string;
  readonly table: string;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly dlqAcceptedTopic: string;
  readonly topicPartitions: number;
  readonly topicReplicationFactor: number;
  readonly createTable: boolean;
  readonly writer: string;
  readonly tombstoneTtlSeconds: number;
  readonly captureBatchSize: number;
  readonly captureLingerMs: number;
  /** Pause after each read of the notification socket (0 = read on every wakeup). */
  readonly captureNotifyPauseMs: number;
  readonly heartbeatIntervalMs: number;
  readonly heartbeatTimeoutMs: number;
  /** Keys per second for reconciliation scans (0 = unlimited). */
  readonly reconcileRate: number;
  /** Encoded events above this are not produced (oversized-value policy, docs/item-layout.md). */
  readonly maxEventBytes: number;
  readonly applierConcurrency: number;
  readonly applierGroup: string;
  readonly verifierGraceMs: number;
  /** The stream parity window `cdc status` judges (StreamParitySnapshot.windowMs). */
  readonly verifierWindowMs: number;
  /** How long a mismatch may stay in flight (the pipeline behind it) before it is reported as stuck. */
  readonly verifierInFlightLimitMs: number;
  /** Readiness thresholds (`cdc status`, the verifier's /status): see docs/operations.md. */
  readonly readyMaxConsumerLag: number;
  readonly readyMaxLagP99Ms: number;
  readonly httpPort?: number;
  /** How long each start-up check waits for its dependency (retrying) before giving up. */
  readonly startupTimeoutMs: number;
  /** The drain deadline after the first SIGTERM/SIGINT. */
  readonly shutdownTimeoutMs: number;
  readonly logLevel: ParsedEnv['LOG_LEVEL'];
  /** The example consumer app's table (PROFILES_TABLE). */
  readonly profilesTable?: string;

  constructor(env: ParsedEnv, readFile: (path: string) => string = (p) => readFileSync(p, 'utf8')) {
    if (env.REDIS_URL || env.REDIS_SENTINELS) {
      const [url = 'redis://127.0.0.1:6379', ...more] = (env.REDIS_URL ?? '').split(',').map((p) => p.trim());
      this.redis = {
        url: url || 'redis://127.0.0.1:6379',
        seeds: [url || 'redis://127.0.0.1:6379', ...more].map(seedAddress),
        db: env.REDIS_DB,
        ...(env.REDIS_TLS_CA_FILE ? { tlsCa: readFile(env.REDIS_TLS_CA_FILE) } : {}),
        readFrom: env.REDIS_READ_FROM,
        ...(env.REDIS_REPLICA_URL ? { replicaUrl: env.REDIS_REPLICA_URL } : {}),
        ...(env.REDIS_SENTINELS && env.REDIS_SENTINEL_NAME
          ? {
              sentinel: {
                nodes: env.REDIS_SENTINELS.map((hp) => {
                  const i = hp.lastIndexOf(':');
                  return { host: hp.slice(0, i), port: Number(hp.slice(i + 1)) };
                }),
                name: env.REDIS_SENTINEL_NAME,
                ...(env.REDIS_SENTINEL_PASSWORD ? { password: env.REDIS_SENTINEL_PASSWORD } : {}),
              },
            }
          : {}),
      };
    }
    if (env.KAFKA_BROKERS) {
      this.kafka = {
        brokers: env.KAFKA_BROKERS,
        clientId: env.KAFKA_CLIENT_ID,
        ssl: env.KAFKA_SSL_CA_FILE ? { ca: [readFile(env.KAFKA_SSL_CA_FILE)] } : env.KAFKA_SSL,
        ...(env.KAFKA_SASL_MECHANISM && env.KAFKA_SASL_USERNAME && env.KAFKA_SASL_PASSWORD
          ? {
              sasl: {
                mechanism: env.KAFKA_SASL_MECHANISM,
                username: env.KAFKA_SASL_USERNAME,
                password: env.KAFKA_SASL_PASSWORD,
              },
            }
          : {}),
      };
    }
    const region = env.AWS_REGION ?? env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.dynamo = env.DYNAMODB_ENDPOINT ? { endpoint: env.DYNAMODB_ENDPOINT, region } : { region };
    this.sourceId = env.CDC_SOURCE_ID;
    this.table = env.CDC_TABLE ?? names.table(env.CDC_SOURCE_ID);
    this.topic = env.CDC_TOPIC ?? names.topic(env.CDC_SOURCE_ID);
    this.dlqTopic = names.dlqTopic(this.topic);
    this.dlqAcceptedTopic = names.dlqAcceptedTopic(this.dlqTopic);
    this.topicPartitions = env.CDC_TOPIC_PARTITIONS;
    this.topicReplicationFactor = env.CDC_TOPIC_REPLICATION_FACTOR;
    this.createTable = env.CDC_CREATE_TABLE;
    this.writer = env.CDC_WRITER ?? `cdc-replicator/${env.CDC_SOURCE_ID}`;
    this.tombstoneTtlSeconds = env.CDC_TOMBSTONE_TTL_SECONDS;
    this.captureBatchSize = env.CDC_CAPTURE_BATCH_SIZE;
    this.captureLingerMs = env.CDC_CAPTURE_LINGER_MS;
    this.captureNotifyPauseMs = env.CDC_CAPTURE_NOTIFY_PAUSE_MS;
    this.heartbeatIntervalMs = env.CDC_HEARTBEAT_INTERVAL_MS;
    this.heartbeatTimeoutMs = env.CDC_HEARTBEAT_TIMEOUT_MS;
    this.reconcileRate = env.CDC_RECONCILE_RATE;
    this.maxEventBytes = env.CDC_MAX_EVENT_BYTES;
    this.applierConcurrency = env.CDC_APPLIER_CONCURRENCY;
    this.applierGroup = env.CDC_APPLIER_GROUP ?? names.applierGroup(env.CDC_SOURCE_ID, this.table);
    this.verifierGraceMs = env.CDC_VERIFIER_GRACE_MS;
    this.verifierWindowMs = env.CDC_VERIFIER_WINDOW_MS;
    this.verifierInFlightLimitMs = env.CDC_VERIFIER_IN_FLIGHT_LIMIT_MS;
    this.readyMaxConsumerLag = env.CDC_READY_MAX_CONSUMER_LAG;
    this.readyMaxLagP99Ms = env.CDC_READY_MAX_LAG_P99_MS;
    if (env.HTTP_PORT !== undefined) this.httpPort = env.HTTP_PORT;
    this.startupTimeoutMs = env.CDC_STARTUP_TIMEOUT_MS;
    this.shutdownTimeoutMs = env.CDC_SHUTDOWN_TIMEOUT_MS;
    this.logLevel = env.LOG_LEVEL;
    if (env.PROFILES_TABLE !== undefined) this.profilesTable = env.PROFILES_TABLE;
  }

  /** The endpoints a process cannot run without; throws naming every missing variable at once. */
  require(...needs: Array<'redis' | 'kafka'>): { redis: RedisConfig; kafka: KafkaConfig } {
    const missing = needs
      .filter((n) => !this[n])
      .map((n) =>
        n === 'redis'
          ? 'REDIS_URL: required (e.g. redis://127.0.0.1:6379), or REDIS_SENTINELS with REDIS_SENTINEL_NAME'
          : 'KAFKA_BROKERS: required (e.g. 127.0.0.1:9092)',
      );
    if (missing.length > 0) throw new ConfigError(missing);
    return { redis: this.redis as RedisConfig, kafka: this.kafka as KafkaConfig };
  }

  /** A loggable view: endpoints without credentials, no secrets. */
  redacted(): Record<string, unknown> {
    return {
      redis: this.redis
        ? {
            url: redactUrl(this.redis.url),
            db: this.redis.db,
            tlsCa: !!this.redis.tlsCa,
            readFrom: this.redis.readFrom,
            ...(this.redis.replicaUrl ? { replicaUrl: redactUrl(this.redis.replicaUrl) } : {}),
            ...(this.redis.sentinel
              ? { sentinels: this.redis.sentinel.nodes, sentinelName: this.redis.sentinel.name }
              : {}),
          }
        : undefined,
      kafka: this.kafka
        ? { brokers: this.kafka.brokers, ssl: !!this.kafka.ssl, sasl: this.kafka.sasl?.mechanism ?? 'none' }
        : undefined,
      dynamo: this.dynamo,
      sourceId: this.sourceId,
      table: this.table,
      topic: this.topic,
    };
  }
}

/** host:port of a seed, given as a URL or as host:port. */
function seedAddress(seed: string): { host: string; port: number } {
  if (/^rediss?:\/\//.test(seed)) {
    const u = new URL(seed);
    return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
  }
  const i = seed.lastIndexOf(':');
  return { host: seed.slice(0, i), port: Number(seed.slice(i + 1)) };
}

export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return '<unparseable url>';
  }
}

/** Parses the environment once; a ConfigError lists every bad variable with the reason. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env): CdcConfig {
  const result = envSchema.safeParse(env);
  if (!result.success) {
    throw new ConfigError(
      result.error.issues.map((i) => {
        const key = i.path.join('.');
        const shown =
          key.includes('PASSWORD') || key.includes('SECRET') || key.endsWith('_URL')
            ? ''
            : ` (got ${JSON.stringify(env[key])})`;
        return `${key}: ${i.message}${shown}`;
      }),
    );
  }
  const problems: string[] = [];
  const config = new CdcConfig(result.data, (path) => {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      problems.push(`cannot read ${path}: ${(err as Error).message}`);
      return '';
    }
  });
  if (problems.length > 0) throw new ConfigError(problems);
  return config;
}
