import { join } from 'node:path';
import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import {
  buildImages,
  type EngineStatus,
  ensureKafkaJars,
  findRepoRoot,
  type ImageGroup,
  type RedisTopology,
  StackError,
  stackDown,
  stackStatus,
  stackUp,
} from '@cdc/stack';
import { fail, printJson } from '../output';
import { cdcHome, enginesDir, stackDir } from '../paths';

interface JsonFlag {
  json?: boolean;
}

function describeEngines(engines: readonly EngineStatus[]): string {
  return engines
    .map((e) => {
      const state = e.running ? (e.ready ? 'ready' : 'starting') : 'stopped';
      const ms = e.readyMs !== undefined ? ` in ${e.readyMs} ms` : '';
      return `  ${e.name.padEnd(9)} ${state}${ms}  ${e.endpoint}${e.pid ? `  (pid ${e.pid})` : ''}`;
    })
    .join('\n');
}

function onStackError(err: unknown): never {
  if (err instanceof StackError) fail(err.message);
  throw err;
}

@SubCommand({
  name: 'up',
  description:
    'Start (or reuse) local Redis, Kafka and DynamoDB Local on free ports; with some engines dead, restart only those on their own ports',
})
export class StackUpCommand extends CommandRunner {
  async run(
    _args: string[],
    opts: JsonFlag & { engines?: 'native' | 'docker'; redis?: RedisTopology },
  ): Promise<void> {
    const log = opts.json ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
    const result = await stackUp({
      stateDir: stackDir(),
      cacheDir: enginesDir(),
      engines: opts.engines ?? 'native',
      ...(opts.redis ? { redis: opts.redis } : {}), // unset: the running stack's topology, else single
      log,
    }).catch(onStackError);
    // Per engine what this call did (kept / restarted / started); the endpoint keys stay where scripts read them.
    if (opts.json) return printJson({ ...result.endpoints, engines: result.actions });
    const e = result.endpoints;
    const replica = e.redisReplicaUrl
      ? `  REDIS_READ_FROM=replica\n  REDIS_REPLICA_URL=${e.redisReplicaUrl}\n`
      : e.redisClusterNodes
        ? `  (Redis Cluster nodes: ${e.redisClusterNodes}; redis-cli -c -p ${new URL(e.redisUrl).port})\n`
        : '';
    const restarted = result.actions.filter((a) => a.action === 'restarted');
    const heading = result.reused
      ? 'Stack already running (reused)'
      : restarted.length > 0
        ? `Stack repaired (${restarted.map((a) => a.name).join(', ')} restarted, the rest kept)`
        : 'Stack up';
    const actions = result.actions.map((a) => `  ${a.detail}`).join('\n');
    process.stdout.write(
      `${heading}:\n${describeEngines(result.engines)}\n\n${restarted.length > 0 ? `${actions}\n\n` : ''}` +
        `  REDIS_URL=${e.redisUrl}\n${replica}  KAFKA_BROKERS=${e.kafkaBrokers}\n` +
        `  DYNAMODB_ENDPOINT=${e.dynamodbEndpoint}\n\nStop it with: npx cdc stack down\n`,
    );
  }

  @Option({
    flags: '--json',
    description:
      'print {"redisUrl","kafkaBrokers","dynamodbEndpoint"} (+ "redisReplicaUrl" with --redis replica) and ' +
      '"engines": [{name, action: kept|restarted|started, port, endpoint, detail}]',
  })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--engines <kind>', description: 'native (default: local processes) or docker' })
  parseEngines(value: string): 'native' | 'docker' {
    if (value !== 'native' && value !== 'docker')
      fail(`--engines must be native or docker, not "${value}"`, 64);
    return value;
  }

  @Option({
    flags: '--redis <topology>',
    description:
      'single; replica: a primary plus one replica, for REDIS_READ_FROM=replica; cluster: a Redis ' +
      "Cluster of 3 primaries with 1 replica each (default: the running stack's, else single)",
  })
  parseRedis(value: string): RedisTopology {
    if (value !== 'single' && value !== 'replica' && value !== 'cluster')
      fail(`--redis must be single, replica or cluster, not "${value}"`, 64);
    return value;
  }
}

@SubCommand({ name: 'down', description: 'Stop exactly what `stack up` started' })
export class StackDownCommand extends CommandRunner {
  async run(_args: string[], opts: JsonFlag): Promise<void> {
    const { stopped } = await stackDown({ stateDir: stackDir() }).catch(onStackError);
    if (opts.json) return printJson({ stopped: stopped.map((e) => e.name) });
    process.stdout.write(
      stopped.length ? `Stopped: ${stopped.map((e) => e.name).join(', ')}\n` : 'Nothing was running.\n',
    );
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({ name: 'status', description: 'What runs where' })
export class StackStatusCommand extends CommandRunner {
  async run(_args: string[], opts: JsonFlag): Promise<void> {
    const status = await stackStatus({ stateDir: stackDir() }).catch(onStackError);
    if (opts.json) return printJson(status);
    process.stdout.write(
      status.engines.length
        ? `${describeEngines(status.engines)}\n`
        : 'No stack is running. Start one: npx cdc stack up\n',
    );
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'fetch',
  description: 'Fetch the engines once (Kafka jars from Maven Central) without starting them',
})
export class StackFetchCommand extends CommandRunner {
  async run(): Promise<void> {
    const dir = await ensureKafkaJars(enginesDir(), (line) => process.stderr.write(`${line}\n`)).catch(
      onStackError,
    );
    process.stdout.write(`Kafka jars ready in ${dir}\n`);
  }
}

@SubCommand({
  name: 'images',
  description:
    'Build (or reuse) the local container images without a registry: debootstrap base, engines, apps (docs/containers.md)',
})
export class StackImagesCommand extends CommandRunner {
  async run(_args: string[], opts: JsonFlag & { only?: ImageGroup }): Promise<void> {
    const root = findRepoRoot(__dirname) ?? findRepoRoot(process.cwd());
    if (!root) fail('cdc stack images runs from the repository (it needs the Dockerfile and images/)', 64);
    const log = opts.json ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
    const results = await buildImages({
      root,
      cacheDir: enginesDir(),
      workDir: join(cdcHome(), 'images'),
      ...(opts.only ? { only: opts.only } : {}),
      log,
    }).catch(onStackError);
    if (opts.json) return printJson(results);
    process.stdout.write(
      results
        .map(
          (r) =>
            `  ${r.tag.padEnd(36)} ${r.built ? 'built     ' : 'up to date'} ${(r.ms / 1000).toFixed(1).padStart(6)} s`,
        )
        .join('\n') + '\n',
    );
  }

  @Option({ flags: '--json', description: 'machine-readable output' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--only <group>', description: 'engines or apps (default: both)' })
  parseOnly(value: string): ImageGroup {
    if (value !== 'engines' && value !== 'apps') fail(`--only must be engines or apps, not "${value}"`, 64);
    return value;
  }
}

@Command({
  name: 'stack',
  description: 'Local engines for development and tests: up | down | status | fetch | images',
  subCommands: [StackUpCommand, StackDownCommand, StackStatusCommand, StackFetchCommand, StackImagesCommand],
})
export class StackCommand extends CommandRunner {
  run(): Promise<void> {
    this.command.help();
  }
}
