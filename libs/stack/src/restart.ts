import { existsSync, readFileSync, renameSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { type Abort, allOrFirstError, DEFAULT_READY_TIMEOUT_MS, recordUntilReady, statusOf } from './bringup';
import { StackError } from './errors';
import type { Launched, LaunchContext } from './engines/common';
import { type DynamoDbLocalDist, launchDynamo } from './engines/dynamodb';
import { launchKafka } from './engines/kafka';
import {
  awaitClusterStable,
  clusterNodesText,
  launchRedis,
  launchRedisClusterNode,
  launchRedisReplica,
} from './engines/redis';
import { portIsFree } from './ports';
import { isAlive, ownedBy, stopGroup } from './process';
import { probeEngine, waitReady } from './probes';
import {
  type ClusterFate,
  clusterNodeFate,
  controllerPortOf,
  enginesToRestart,
  keptAction,
  portTakenMessage,
  restartDetail,
} from './restart-plan';
import { endpointsOf, type EngineRecord, type StackState } from './state';
import {
  CLUSTER_NODE_NAMES,
  type ClusterNodeName,
  type EngineAction,
  type EngineName,
  type EngineStatus,
  type StackEndpoints,
  type StackOptions,
} from './types';

export interface NativeTools {
  java: string;
  redisBin: string;
  libs: string;
  dist: DynamoDbLocalDist;
}

/** An engine that runs but did not answer gets this long to answer before it is stopped and restarted. */
const UNRESPONSIVE_GRACE_MS = 10_000;
/** How long a dead cluster primary's replica gets to take over its slots (cluster-node-timeout is 3 s). */
const FAILOVER_WAIT_MS = 20_000;

const isClusterNode = (n: EngineName): n is 'redis' | ClusterNodeName =>
  n === 'redis' || (CLUSTER_NODE_NAMES as readonly string[]).includes(n);

async function answersWithin(s: EngineStatus, ms: number): Promise<boolean> {
  const r = await waitReady(() => probeEngine(s.name, s.endpoint), {
    timeoutMs: ms,
    since: Date.now(),
    gone: () => (s.pid === undefined || isAlive(s.pid) ? undefined : 'gone'),
  });
  return r.ok;
}

/** Waits (bounded) until a dead cluster primary's slots have moved to its replica; reports what it saw. */
async function awaitFailover(livePorts: readonly number[], port: number): Promise<ClusterFate> {
  const deadline = Date.now() + FAILOVER_WAIT_MS;
  let fate = clusterNodeFate(await clusterNodesText(livePorts), port);
  while (fate === 'holds-slots' && Date.now() < deadline) {
    await sleep(250);
    fate = clusterNodeFate(await clusterNodesText(livePorts), port);
  }
  return fate;
}

/**
 * `stackUp` on a stack where some engines still run: the live ones are left alone (a replicator may be using
 * them), each dead one is started again on its own port and in its own data dir. Throws PORT_TAKEN, naming the
 * engine and port, when another process took a dead engine's port meanwhile.
 */
export async function restartDeadEngines(
  stateDir: string,
  state: StackState,
  statuses: readonly EngineStatus[],
  opts: StackOptions,
  tools: NativeTools,
): Promise<{ endpoints: StackEndpoints; engines: EngineStatus[]; actions: EngineAction[] }> {
  const log = opts.log ?? (() => undefined);
  const topology = state.redis ?? 'single';
  const timeouts = { ...DEFAULT_READY_TIMEOUT_MS, ...opts.readyTimeoutMs };
  const checked = await Promise.all(
    statuses.map(async (s) =>
      s.running && !s.ready && (await answersWithin(s, UNRESPONSIVE_GRACE_MS)) ? { ...s, ready: true } : s,
    ),
  );
  const dead = enginesToRestart(checked);
  const rec = (n: EngineName): EngineRecord => state.engines[n] as EngineRecord;

  let controllerPort: number | undefined;
  if (dead.includes('kafka')) {
    const props = join(stateDir, 'kafka', 'server.properties');
    controllerPort = existsSync(props) ? controllerPortOf(readFileSync(props, 'utf8')) : undefined;
    if (controllerPort === undefined)
      throw new StackError(
        'ENGINE_EXITED',
        `kafka is down and ${props} (its ports) is missing, so it cannot be restarted in place; ` +
          'start a fresh stack: npx cdc stack down && npx cdc stack up',
        'kafka',
      );
  }
  for (const name of dead) {
    const { pid } = rec(name);
    // Running but unresponsive: stopped first, so its port and data dir are free.
    if (pid !== undefined && isAlive(pid) && ownedBy(pid, stateDir)) {
      log(`${name}: pid ${pid} does not answer; stopping it`);
      await stopGroup(pid);
    }
    const ports = name === 'kafka' ? [rec(name).port, controllerPort as number] : [rec(name).port];
    for (const port of ports)
      if (!(await portIsFree(port, { allInterfaces: name === 'dynamodb' })))
        throw new StackError('PORT_TAKEN', portTakenMessage(name, port), name);
  }

  const ctx: LaunchContext = {
    stateDir,
    runId: state.id || 'restart',
    env: opts.env ?? process.env,
    fastStart: state.fastStart ?? false,
    log,
  };
  const { java, redisBin, libs, dist } = tools;
  const launchers: Record<EngineName, () => Promise<Launched> | Launched> = {
    redis: () =>
      topology === 'cluster'
        ? launchRedisClusterNode(ctx, redisBin, 'redis', rec('redis').port)
        : launchRedis(ctx, redisBin, rec('redis').port),
    'redis-replica': () => launchRedisReplica(ctx, redisBin, rec('redis-replica').port, rec('redis').port),
    ...(Object.fromEntries(
      CLUSTER_NODE_NAMES.map((n) => [n, () => launchRedisClusterNode(ctx, redisBin, n, rec(n).port)]),
    ) as Record<ClusterNodeName, () => Launched>),
    kafka: () =>
      launchKafka(ctx, java, libs, {
        brokerPort: rec('kafka').port,
        controllerPort: controllerPort as number,
      }),
    dynamodb: () => launchDynamo(ctx, java, dist, rec('dynamodb').port),
  };

  const restarted = new Map<EngineName, { status: EngineStatus; detail: string }>();
  const bringBack = async (name: EngineName, abort: Abort, fate?: ClusterFate): Promise<void> => {
    const logFile = join(stateDir, `${name}.log`);
    if (existsSync(logFile)) renameSync(logFile, `${logFile}.prev`); // the dead run's log, for a post-mortem
    const l = await launchers[name]();
    const r = await recordUntilReady(l, state, stateDir, timeouts[name], abort);
    const detail = restartDetail(name, l.port, topology, fate);
    log(`${detail}, ready in ${r.readyMs} ms (pid ${l.spawned.pid})`);
    restarted.set(name, { status: statusOf(name, r, true, true), detail });
  };

  const redisFamily = dead.filter((n) => n.startsWith('redis'));
  const tasks: Array<(abort: Abort) => Promise<void>> = dead
    .filter((n) => n === 'kafka' || n === 'dynamodb')
    .map((n) => (abort: Abort) => bringBack(n, abort));
  if (redisFamily.length > 0)
    tasks.push(async (abort) => {
      if (topology === 'cluster') {
        const all = checked.filter((s) => isClusterNode(s.name));
        const live = all.filter((s) => s.ready).map((s) => s.port);
        // A dead primary comes back empty: let its replica take over its slots first, so they keep their data.
        const fates = await Promise.all(redisFamily.map((n) => awaitFailover(live, rec(n).port)));
        await Promise.all(redisFamily.map((n, i) => bringBack(n, abort, fates[i])));
        await awaitClusterStable(all.map((s) => s.port));
        return;
      }
      for (const n of redisFamily) await bringBack(n, abort); // the primary before its replica
    });
  await allOrFirstError(tasks);

  const engines = checked.map((s) => restarted.get(s.name)?.status ?? s);
  const actions = checked.map((s): EngineAction => {
    const r = restarted.get(s.name);
    return r
      ? { name: s.name, action: 'restarted', port: s.port, endpoint: s.endpoint, detail: r.detail }
      : keptAction(s);
  });
  return { endpoints: endpointsOf(state) as StackEndpoints, engines, actions };
}
