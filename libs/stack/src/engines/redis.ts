import { join } from 'node:path';
import { resolveExecutable, spawnDetached } from '../process';
import { redisServerMissing } from '../errors';
import { ensureDir, freshLog, type LaunchContext, type Launched } from './common';

export function resolveRedisServer(env: NodeJS.ProcessEnv): string {
  const bin = resolveExecutable('redis-server', env);
  if (!bin) throw redisServerMissing();
  return bin;
}

/** No persistence (tests and benchmarks want a clean, fast server) and keyspace events on, which capture needs. */
export function redisArgs(port: number, dataDir: string): string[] {
  return [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--save',
    '',
    '--appendonly',
    'no',
    '--notify-keyspace-events',
    'KEA',
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
