export type EngineName = 'redis' | 'kafka' | 'dynamodb';
export const ENGINE_NAMES: readonly EngineName[] = ['redis', 'kafka', 'dynamodb'];

export type EngineMode = 'native' | 'docker';

export interface StackEndpoints {
  redisUrl: string; // redis://127.0.0.1:40001
  kafkaBrokers: string; // 127.0.0.1:40002
  dynamodbEndpoint: string; // http://127.0.0.1:40003
}

export interface StackOptions {
  /** Where state.json, the logs and the engines' data live, e.g. <repo>/.cdc/stack. */
  stateDir: string;
  /** Where fetched engines (Kafka jars) are cached, shared by every stack, e.g. <repo>/.cdc/engines. */
  cacheDir: string;
  /** Default native. */
  engines?: EngineMode;
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
