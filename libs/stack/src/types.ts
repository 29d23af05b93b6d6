/** The three engines every stack runs. */
export type CoreEngineName = 'redis' | 'kafka' | 'dynamodb';
export const ENGINE_NAMES: readonly CoreEngineName[] = ['redis', 'kafka', 'dynamodb'];
/** Plus, with `redis: 'replica'`, a replica of the stack's Redis (capture's REDIS_READ_FROM=replica). */
export type EngineName = CoreEngineName | 'redis-replica';
export const ALL_ENGINE_NAMES: readonly EngineName[] = [...ENGINE_NAMES, 'redis-replica'];

/** One redis-server, or a primary with one replica that publishes keyspace events. */
export type RedisTopology = 'single' | 'replica';

export type EngineMode = 'native' | 'docker';

export interface StackEndpoints {
  redisUrl: string; // redis://127.0.0.1:40001
  kafkaBrokers: string; // 127.0.0.1:40002
  dynamodbEndpoint: string; // http://127.0.0.1:40003
  /** With `redis: 'replica'`: the replica capture reads on (redisUrl stays the primary, where apps write). */
  redisReplicaUrl?: string;
}

export interface StackOptions {
  /** Where state.json, the logs and the engines' data live, e.g. <repo>/.cdc/stack. */
  stateDir: string;
  /** Where fetched engines (Kafka jars) are cached, shared by every stack, e.g. <repo>/.cdc/engines. */
  cacheDir: string;
  /** Default native. */
  engines?: EngineMode;
  /** Default single; 'replica' adds a replica of Redis (native engines only). */
  redis?: RedisTopology;
  /** Tests: C1-only JIT (-XX:TieredStopAtLevel=1) starts JVMs faster; benchmarks want false. */
  fastStart?: boolean;
  log?: (line: string) => void;
  /**
   * Environment used to find java (JAVA_HOME, then PATH), redis-server, mvn and docker, and handed to the
   * engines. Read at call time; defaults to process.env.
   */
  env?: NodeJS.ProcessEnv;
  /** Java installation to use instead of JAVA_HOME / PATH. */
  javaHome?: string;
  /** Readiness timeouts per engine in ms (defaults: kafka 90 s, others 30 s). */
  readyTimeoutMs?: Partial<Record<EngineName, number>>;
}

export interface EngineStatus {
  name: EngineName;
  pid?: number;
  containerId?: string;
  port: number;
  endpoint: string;
  running: boolean;
  ready: boolean;
  readyMs?: number;
  logFile?: string;
}

export interface StackUpResult {
  endpoints: StackEndpoints;
  engines: EngineStatus[];
  reused: boolean;
}
