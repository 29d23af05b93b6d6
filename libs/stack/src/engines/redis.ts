import { execFile } from 'node:child_process';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import type { ClusterNodeName } from '../types';
import { StackError } from '../errors';
import { resolveExecutable, spawnDetached } from '../process';
import { redisServerMissing } from '../errors';
import { ensureDir, freshLog, type LaunchContext, type Launched } from './common';

const run = promisify(execFile);

export function resolveRedisServer(env: NodeJS.ProcessEnv): string {
  const bin = resolveExecutable('redis-server', env);
  if (!bin) throw redisServerMissing();
  return bin;
}

/**
 * Every local Redis, native or container: no persistence (tests and benchmarks want a clean, fast server) and
 * keyspace events on, which capture needs.
 */
export const EPHEMERAL_REDIS_ARGS: readonly string[] = [
  '--save',
  '',
  '--appendonly',
  'no',
  '--notify-keyspace-events',
  'KEA',
];

export function redisArgs(port: number, dataDir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    ...EPHEMERAL_REDIS_ARGS,
    // A replica attached later syncs at once instead of after the default 5 s wait for more replicas.
    '--repl-diskless-sync-delay',
    '0',
    '--dir',
    dataDir,
    '--daemonize',
    'no',
    '--logfile',
    '', // stdout, which goes to the log file: also catches errors before the log is opened
  ];
}

export function launchRedis(ctx: LaunchContext, bin: string, port: number): Launched {
  const dataDir = ensureDir(join(ctx.stateDir, 'redis'));
  const logFile = freshLog(join(ctx.stateDir, 'redis.log'));
  const since = Date.now();
  // cwd inside the state dir: that is how stackDown recognises this redis-server as ours (it rewrites its argv).
  const spawned = spawnDetached(bin, redisArgs(port, dataDir), { cwd: dataDir, env: ctx.env, logFile });
  return { name: 'redis', port, endpoint: `redis://127.0.0.1:${port}`, logFile, spawned, since };
}

/**
 * A replica of the stack's Redis, in its own data dir (a replica writes dump.rdb on a disk-based full sync even
 * with `save ''`), publishing keyspace events itself: capture reads there with REDIS_READ_FROM=replica.
 */
/**
 * One node of a local Redis Cluster, in its own data dir (its nodes.conf lives there). The cluster is formed
 * once every node is up (`createCluster`).
 */
export function launchRedisClusterNode(
  ctx: LaunchContext,
  bin: string,
  name: 'redis' | ClusterNodeName,
  port: number,
): Launched {
  const dataDir = ensureDir(join(ctx.stateDir, name));
  const logFile = freshLog(join(ctx.stateDir, `${name}.log`));
  const since = Date.now();
  const args = [
    ...redisArgs(port, dataDir),
    '--cluster-enabled',
    'yes',
    '--cluster-config-file',
    'nodes.conf',
    '--cluster-node-timeout',
    '3000',
  ];
  const spawned = spawnDetached(bin, args, { cwd: dataDir, env: ctx.env, logFile });
  return { name, port, endpoint: `redis://127.0.0.1:${port}`, logFile, spawned, since };
}

/** `redis-cli --cluster create`: three primaries with one replica each, then waits until it is stable. */
export async function createCluster(
  redisServer: string,
  ports: readonly number[],
  timeoutMs = 60_000,
): Promise<void> {
  const cli = join(dirname(redisServer), 'redis-cli');
  const { stdout, stderr } = await run(
    cli,
    [
      '--cluster',
      'create',
      ...ports.map((p) => `127.0.0.1:${p}`),
      '--cluster-replicas',
      '1',
      '--cluster-yes',
    ],
    { timeout: timeoutMs },
  ).catch((err: { stdout?: string; stderr?: string; message: string }) => {
    throw new StackError(
      'ENGINE_EXITED',
      `redis-cli --cluster create failed: ${err.message}\n${err.stdout ?? ''}${err.stderr ?? ''}`,
      'redis',
    );
  });
  void stdout;
  void stderr;
  await awaitClusterStable(ports, timeoutMs);
}

/** Waits until every node reports cluster_state:ok with its replicas attached. */
export async function awaitClusterStable(ports: readonly number[], timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if ((await clusterStable(ports)) || Date.now() > deadline) break;
    await sleep(200);
  }
  if (!(await clusterStable(ports)))
    throw new StackError(
      'ENGINE_TIMEOUT',
      `the local Redis Cluster on ${ports.join(', ')} did not settle`,
      'redis',
    );
}

const nodeClient = (port: number): Redis => {
  const c = new Redis({
    port,
    host: '127.0.0.1',
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null,
  });
  c.on('error', () => undefined);
  return c;
};

/** CLUSTER NODES as the first of `ports` that answers sees it; '' when none does. */
export async function clusterNodesText(ports: readonly number[]): Promise<string> {
  for (const port of ports) {
    const c = nodeClient(port);
    try {
      await c.connect();
      return (await c.call('CLUSTER', 'NODES')) as string;
    } catch {
      /* try the next node */
    } finally {
      c.disconnect();
    }
  }
  return '';
}

/** Every node says cluster_state:ok and has a role (replicas attached). */
async function clusterStable(ports: readonly number[]): Promise<boolean> {
  for (const port of ports) {
    const c = nodeClient(port);
    try {
      await c.connect();
      if (!((await c.call('CLUSTER', 'INFO')) as string).includes('cluster_state:ok')) return false;
      const nodes = (await c.call('CLUSTER', 'NODES')) as string;
      const replicas = nodes.split('\n').filter((l) => (l.split(' ')[2] ?? '').split(',').includes('slave'));
      if (replicas.length < ports.length / 2) return false;
    } catch {
      return false;
    } finally {
      c.disconnect();
    }
  }
  return true;
}

export function launchRedisReplica(
  ctx: LaunchContext,
  bin: string,
  port: number,
  primaryPort: number,
): Launched {
  const dataDir = ensureDir(join(ctx.stateDir, 'redis-replica'));
  const logFile = freshLog(join(ctx.stateDir, 'redis-replica.log'));
  const since = Date.now();
  const args = [...redisArgs(port, dataDir), '--replicaof', '127.0.0.1', String(primaryPort)];
  const spawned = spawnDetached(bin, args, { cwd: dataDir, env: ctx.env, logFile });
  return { name: 'redis-replica', port, endpoint: `redis://127.0.0.1:${port}`, logFile, spawned, since };
}
