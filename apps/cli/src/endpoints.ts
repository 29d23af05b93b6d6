import {
  assignEnv,
  type CdcConfig,
  ConfigError,
  type EnvName,
  loadConfig,
  localAwsDefaults,
} from '@cdc/config';
import { type StackEndpoints, StackError, stackStatus, stackUp } from '@cdc/stack';
import { fail } from './output';
import { enginesDir, stackDir } from './paths';

const ENDPOINT_VARS = [
  'REDIS_URL',
  'KAFKA_BROKERS',
  'DYNAMODB_ENDPOINT',
] as const satisfies readonly EnvName[];

export interface ResolvedConfig {
  readonly config: CdcConfig;
  /** Set when the embedded local stack is used: how to reach its Redis with redis-cli. */
  readonly redisCliHint?: string;
}

function pointAt(endpoints: StackEndpoints): string {
  assignEnv({
    // A cluster stack (`cdc stack up --redis cluster`): every node is a seed; capture detects the cluster.
    REDIS_URL: endpoints.redisClusterNodes ? `redis://${endpoints.redisClusterNodes}` : endpoints.redisUrl,
    KAFKA_BROKERS: endpoints.kafkaBrokers,
    DYNAMODB_ENDPOINT: endpoints.dynamodbEndpoint,
    // DynamoDB Local accepts any credentials made of letters and digits; real ones are left alone.
    ...localAwsDefaults(),
  });
  // A stack with a replica (`cdc stack up --redis replica`) is read the way it was built for.
  if (endpoints.redisReplicaUrl && !process.env.REDIS_READ_FROM)
    assignEnv({ REDIS_READ_FROM: 'replica', REDIS_REPLICA_URL: endpoints.redisReplicaUrl });
  return `redis-cli ${endpoints.redisClusterNodes ? '-c ' : ''}-p ${new URL(endpoints.redisUrl).port}`;
}

/**
 * The configuration for a command: the environment's endpoints when all three are set; with none set, the
 * embedded local stack (`start`: bring it up, `reuse`: only if `cdc stack up` already runs it). Exits with a
 * clear message (and 78) on partial or invalid configuration.
 */
export async function resolveConfig(embedded: 'start' | 'reuse', quiet = false): Promise<ResolvedConfig> {
  const set = ENDPOINT_VARS.filter((v) => process.env[v]);
  if (set.length > 0 && set.length < ENDPOINT_VARS.length) {
    const missing = ENDPOINT_VARS.filter((v) => !process.env[v]);
    fail(
      `set all of ${ENDPOINT_VARS.join(', ')} or none (embedded stack); missing: ${missing.join(', ')}`,
      78,
    );
  }
  let redisCliHint: string | undefined;
  if (set.length === 0) {
    // A stack `cdc stack up` already runs is used as it is (with a replica, or a cluster); else a default one.
    const running = await stackStatus({ stateDir: stackDir() });
    const alive = running.endpoints && running.engines.length > 0 && running.engines.every((e) => e.running);
    if (embedded === 'start' && alive && running.endpoints) {
      if (!quiet)
        process.stderr.write(
          'No REDIS_URL / KAFKA_BROKERS / DYNAMODB_ENDPOINT set: using the running local stack.\n',
        );
      redisCliHint = pointAt(running.endpoints);
    } else if (embedded === 'start') {
      if (!quiet)
        process.stderr.write(
          'No REDIS_URL / KAFKA_BROKERS / DYNAMODB_ENDPOINT set: using the embedded local stack.\n',
        );
      const { endpoints } = await stackUp({
        stateDir: stackDir(),
        cacheDir: enginesDir(),
        log: (line) => (quiet ? undefined : process.stderr.write(`  ${line}\n`)),
      }).catch((err: unknown) => fail(err instanceof StackError ? err.message : String(err)));
      redisCliHint = pointAt(endpoints);
    } else {
      if (!alive || !running.endpoints) {
        fail(`set ${ENDPOINT_VARS.join(', ')}, or start the local stack first: npx cdc stack up`, 78);
      }
      redisCliHint = pointAt(running.endpoints);
    }
  }
  try {
    return { config: loadConfig(), ...(redisCliHint ? { redisCliHint } : {}) };
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 78);
    throw err;
  }
}
