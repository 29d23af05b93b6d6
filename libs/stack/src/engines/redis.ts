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
