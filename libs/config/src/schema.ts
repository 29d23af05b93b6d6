import { z } from 'zod';

/**
 * Every environment variable the replicator reads, in one place. Parsed once at start; every bad variable is
 * named in one error (see loadConfig). Endpoints are optional here because each process needs a different
 * subset: capture needs Redis + Kafka, the applier Kafka + DynamoDB, `cdc run` none (it can embed a stack).
 */
const bool = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'])
  .transform((v) => v === 'true' || v === '1' || v === 'yes');
const int = (min: number, max: number) => z.coerce.number().int().min(min).max(max);
const name = z.string().regex(/^[A-Za-z0-9_.-]+$/, 'use letters, digits, dot, dash or underscore');

const redisUrl = z
  .string()
  .url()
  .refine((u) => /^rediss?:\/\//.test(u), 'must start with redis:// or rediss:// (TLS)');
/** One URL, or a URL followed by more seeds (host:port or URLs) for a Redis Cluster. */
const redisSeeds = z.string().refine((s) => {
  const [first, ...more] = s.split(',').map((p) => p.trim());
  return (
    redisUrl.safeParse(first).success &&
    more.every((p) => /^[^\s:/]+:\d{1,5}$/.test(p) || redisUrl.safeParse(p).success)
  );
}, 'must start with redis:// or rediss:// (TLS); a cluster may list more seeds: redis://host:port,host:port');
const hostPorts = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine(
    (list) => list.length > 0 && list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)),
    'use host:port[,host:port]',
  );
const brokers = z
  .string()
  .transform((s) =>
    s
      .split(',')
      .map((b) => b.trim())
      .filter(Boolean),
  )
  .refine(
    (list) => list.length > 0 && list.every((b) => /^[^\s:]+:\d{1,5}$/.test(b)),
    'use host:port[,host:port]',
  );

export const envSchema = z
  .object({
    // A Redis Cluster may be given several seed nodes: redis://[user:pass@]host:port,host:port,...
    REDIS_URL: redisSeeds.optional(),
    REDIS_DB: int(0, 15).default(0),
    REDIS_TLS_CA_FILE: z.string().optional(),
    REDIS_READ_FROM: z.enum(['primary', 'replica']).default('primary'),
    REDIS_REPLICA_URL: redisUrl.optional(),
    REDIS_SENTINELS: hostPorts.optional(),
    REDIS_SENTINEL_NAME: name.optional(),
    REDIS_SENTINEL_PASSWORD: z.string().optional(),
    KAFKA_BROKERS: brokers.optional(),
    KAFKA_CLIENT_ID: name.default('cdc'),
    KAFKA_SSL: bool.default('false'),
    KAFKA_SSL_CA_FILE: z.string().optional(),
    KAFKA_SASL_MECHANISM: z.enum(['scram-sha-256', 'scram-sha-512', 'plain']).optional(),
    KAFKA_SASL_USERNAME: z.string().optional(),
    KAFKA_SASL_PASSWORD: z.string().optional(),
    DYNAMODB_ENDPOINT: z.string().url().optional(),
    AWS_REGION: z.string().optional(),
    AWS_DEFAULT_REGION: z.string().optional(),
    CDC_SOURCE_ID: name.default('default'),
    CDC_TABLE: name.optional(),
    CDC_TOPIC: name.optional(),
    CDC_TOPIC_PARTITIONS: int(1, 10_000).default(6),
    CDC_TOPIC_REPLICATION_FACTOR: int(-1, 10).default(-1),
    CDC_CREATE_TABLE: bool.default('true'),
    CDC_WRITER: z.string().min(1).optional(),
    CDC_TOMBSTONE_TTL_SECONDS: int(60, 10 * 365 * 86_400).default(7 * 86_400),
    CDC_CAPTURE_BATCH_SIZE: int(1, 10_000).default(500),
    CDC_CAPTURE_LINGER_MS: int(0, 1_000).default(5),
    CDC_CAPTURE_NOTIFY_PAUSE_MS: int(0, 100).default(2),
    CDC_HEARTBEAT_INTERVAL_MS: int(100, 60_000).default(1_000),
    CDC_HEARTBEAT_TIMEOUT_MS: int(100, 600_000).default(5_000),
    CDC_RECONCILE_RATE: int(0, 1_000_000).default(5_000),
    CDC_MAX_EVENT_BYTES: int(1_024, 100 * 1024 * 1024).default(400_000),
    CDC_APPLIER_CONCURRENCY: int(1, 1_024).default(16),
    CDC_APPLIER_GROUP: name.optional(),
    CDC_VERIFIER_GRACE_MS: int(0, 600_000).default(2_000),
    CDC_VERIFIER_WINDOW_MS: int(10_000, 86_400_000).default(300_000),
    CDC_VERIFIER_IN_FLIGHT_LIMIT_MS: int(1_000, 86_400_000).default(600_000),
    CDC_READY_MAX_CONSUMER_LAG: int(0, 1_000_000_000).default(1_000),
    CDC_READY_MAX_LAG_P99_MS: int(1, 86_400_000).default(5_000),
    HTTP_PORT: int(0, 65_535).optional(),
    // Start-up: how long each dependency check retries before the process exits 69 (docs/operations.md).
    CDC_STARTUP_TIMEOUT_MS: int(0, 600_000).default(30_000),
    // Shutdown: the drain deadline after the first SIGTERM/SIGINT; past it the process exits 75.
    CDC_SHUTDOWN_TIMEOUT_MS: int(1_000, 3_600_000).default(15_000),
    LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
    // Read by the AWS SDK's default chain (listed so every variable anything here reads or sets is in the schema).
    AWS_ACCESS_KEY_ID: z.string().optional(),
    AWS_SECRET_ACCESS_KEY: z.string().optional(),
    // The CLI's home: stacks, engines, checkpoints (default .cdc/ in the working directory).
    CDC_HOME: z.string().min(1).optional(),
    // The example consumer app's table (apps/profiles-consumer; default profiles_<source>).
    PROFILES_TABLE: name.optional(),
  })
  .superRefine((env, ctx) => {
    if (env.REDIS_SENTINELS && !env.REDIS_SENTINEL_NAME)
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_SENTINEL_NAME'],
        message: 'required with REDIS_SENTINELS (the name Sentinel monitors the primary under)',
      });
    if (env.REDIS_REPLICA_URL && env.REDIS_READ_FROM !== 'replica')
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_REPLICA_URL'],
        message: 'only read with REDIS_READ_FROM=replica; set it, or unset REDIS_REPLICA_URL',
      });
    if (env.REDIS_REPLICA_URL && env.REDIS_SENTINELS)
      ctx.addIssue({
        code: 'custom',
        path: ['REDIS_REPLICA_URL'],
        message: 'with REDIS_SENTINELS the replica comes from Sentinel; unset REDIS_REPLICA_URL',
      });
    if (env.KAFKA_SASL_MECHANISM) {
      for (const k of ['KAFKA_SASL_USERNAME', 'KAFKA_SASL_PASSWORD'] as const) {
        if (!env[k])
          ctx.addIssue({ code: 'custom', path: [k], message: `required when KAFKA_SASL_MECHANISM is set` });
      }
    }
  });

export type Env = z.input<typeof envSchema>;
export type ParsedEnv = z.output<typeof envSchema>;
