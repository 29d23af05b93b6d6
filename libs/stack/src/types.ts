/** The three engines every stack runs. */
export type CoreEngineName = 'redis' | 'kafka' | 'dynamodb';
export const ENGINE_NAMES: readonly CoreEngineName[] = ['redis', 'kafka', 'dynamodb'];
/** The other nodes of a local Redis Cluster (`redis: 'cluster'`); `redis` is its first node. */
export const CLUSTER_NODE_NAMES = [
  'redis-node-2',
  'redis-node-3',
  'redis-node-4',
  'redis-node-5',
  'redis-node-6',
] as const;
export type ClusterNodeName = (typeof CLUSTER_NODE_NAMES)[number];
/**
 * Plus, with `redis: 'replica'`, a replica of the stack's Redis (capture's REDIS_READ_FROM=replica), or with
 * `redis: 'cluster'` five more cluster nodes.
 */
export type EngineName = CoreEngineName | 'redis-replica' | ClusterNodeName;
export const ALL_ENGINE_NAMES: readonly EngineName[] = [
  ...ENGINE_NAMES,
  'redis-replica',
  ...CLUSTER_NODE_NAMES,
];

/**
 * One redis-server; a primary with one replica that publishes keyspace events; or a Redis Cluster of three
 * primaries, each with one replica.
 */
export type RedisTopology = 'single' | 'replica' | 'cluster';

export type EngineMode = 'native' | 'docker';

export interface StackEndpoints {
  redisUrl: string; // redis://127.0.0.1:40001
  kafkaBrokers: string; // 127.0.0.1:40002
  dynamodbEndpoint: string; // http://127.0.0.1:40003
  /** With `redis: 'replica'`: the replica capture reads on (redisUrl stays the primary, where apps write). */
  redisReplicaUrl?: string;
  /** With `redis: 'cluster'`: every node, host:port,host:port (redisUrl is the first). */
  redisClusterNodes?: string;
}

export interface StackOptions {
  /** Where state.json, the logs and the engines' data live, e.g. <repo>/.cdc/stack. */
  stateDir: string;
  /** Where fetched engines (Kafka jars) are cached, shared by every stack, e.g. <repo>/.cdc/engines. */
  cacheDir: string;
  /** Default native. */
  engines?: EngineMode;
  /**
   * 'single', 'replica' (adds a replica of Redis) or 'cluster' (a 6-node cluster), native engines only. Default:
   * the topology of the stack the state dir already holds, else single.
   */
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

/**
 * What `stackUp` did to one engine: left a live one alone (kept), brought a dead one of a live stack back on its
 * own port and data dir (restarted), or started it as part of a new stack (started).
 */
export interface EngineAction {
  name: EngineName;
  action: 'kept' | 'restarted' | 'started';
  port: number;
  endpoint: string;
  /** One line for humans: where, and what became of its data. */
  detail: string;
}

export interface StackUpResult {
  endpoints: StackEndpoints;
  engines: EngineStatus[];
  /** True when every engine was kept. */
  reused: boolean;
  /** Per engine, what this call did. */
  actions: EngineAction[];
}
