import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, realpathSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { type Abort, allOrFirstError, DEFAULT_READY_TIMEOUT_MS, recordUntilReady, statusOf } from './bringup';
import { StackError } from './errors';
import { ensureDocker } from './docker';
import { dockerRunning, dockerStop, upDocker } from './stack-docker';
import type { Launched, LaunchContext } from './engines/common';
import { findDynamoDbLocal, launchDynamo } from './engines/dynamodb';
import { resolveJava } from './engines/java';
import { ensureKafkaJars, launchKafka } from './engines/kafka';
import {
  createCluster,
  launchRedis,
  launchRedisClusterNode,
  launchRedisReplica,
  resolveRedisServer,
} from './engines/redis';
import { freePort, freePorts } from './ports';
import { findStackProcesses, isAlive, ownedBy, stopGroup } from './process';
import { probeEngine } from './probes';
import { restartDeadEngines, type NativeTools } from './restart';
import { keptAction, startedAction } from './restart-plan';
import { endpointsOf, readState, removeState, withLock, type EngineRecord, type StackState } from './state';
import {
  ALL_ENGINE_NAMES,
  CLUSTER_NODE_NAMES,
  type CoreEngineName,
  ENGINE_NAMES,
  type EngineStatus,
  type StackEndpoints,
  type StackOptions,
  type StackUpResult,
} from './types';

const noop = (): void => undefined;

/** The engines' data dirs; logs (<engine>.log) stay after stackDown for post-mortems. */
const cleanEngineDirs = (stateDir: string): void => {
  for (const d of ALL_ENGINE_NAMES) rmSync(join(stateDir, d), { recursive: true, force: true });
};

async function isRunning(stateDir: string, rec: EngineRecord): Promise<boolean> {
  if (rec.containerId) return dockerRunning(rec.containerId);
  return rec.pid !== undefined && isAlive(rec.pid) && ownedBy(rec.pid, stateDir);
}

/** What runs (pid alive and ours / container running) and what answers its probe. */
async function engineStatuses(stateDir: string, state: StackState): Promise<EngineStatus[]> {
  return Promise.all(
    ALL_ENGINE_NAMES.filter((n) => state.engines[n]).map(async (name) => {
      const rec = state.engines[name] as EngineRecord;
      const running = await isRunning(stateDir, rec);
      const ready =
        running &&
        (await probeEngine(name, rec.endpoint).then(
          () => true,
          () => false,
        ));
      return statusOf(name, rec, running, ready);
    }),
  );
}

/** Stops everything the state lists, plus any process of this state dir it does not (a crashed stackUp). */
async function stopAll(stateDir: string, state: StackState | undefined, log: (l: string) => void) {
  const stubborn: number[] = [];
  const stopped = await Promise.all(
    ALL_ENGINE_NAMES.flatMap((name) => {
      const rec = state?.engines[name];
      if (!rec) return [];
      return (async () => {
        if (rec.containerId) {
          await dockerStop(rec.containerId);
        } else if (rec.pid !== undefined && isAlive(rec.pid) && ownedBy(rec.pid, stateDir)) {
          const t0 = Date.now();
          if (!(await stopGroup(rec.pid))) stubborn.push(rec.pid);
          else log(`${name}: stopped pid ${rec.pid} in ${Date.now() - t0} ms`);
        }
        return statusOf(name, rec, false, false);
      })();
    }),
  );
  for (const pid of findStackProcesses(stateDir)) {
    log(`stack: stopping leftover process ${pid} of ${stateDir}`);
    if (!(await stopGroup(pid))) stubborn.push(pid);
  }
  if (stubborn.length > 0) {
    throw new Error(
      `pids ${stubborn.join(', ')} survived SIGKILL; state.json is kept so stackDown can retry`,
    );
  }
  removeState(stateDir);
  cleanEngineDirs(stateDir);
  return stopped;
}

/** Absolute and symlink-free: /proc reports real paths, and the JVM marker must match byte for byte. */
function canonicalDir(dir: string, create: boolean): string {
  const abs = resolve(dir);
  if (create) mkdirSync(abs, { recursive: true });
  try {
    return realpathSync(abs);
  } catch {
    return abs;
  }
}

/** Everything that can be missing, checked before anything is stopped or started. */
async function nativePreflight(opts: StackOptions, env: NodeJS.ProcessEnv): Promise<NativeTools> {
  const java = await resolveJava(env, opts.javaHome);
  const redisBin = resolveRedisServer(env);
  const libs = await ensureKafkaJars(resolve(opts.cacheDir), opts.log, env);
  return { java, redisBin, libs, dist: findDynamoDbLocal() };
}

/**
 * Starts redis-server, Kafka (KRaft) and DynamoDB Local in parallel, or reuses the stack state.json describes
 * when every engine in it still runs and answers and it was started the same way (engines, fastStart, redis).
 * When only some of a native stack's engines are dead, only those are started again, on their own ports and
 * data dirs (restart.ts): a replicator running against the stack keeps its endpoints.
 */
export async function stackUp(opts: StackOptions): Promise<StackUpResult> {
  const stateDir = canonicalDir(opts.stateDir, true);
  const log = opts.log ?? noop;
  const mode = opts.engines ?? 'native';
  const fastStart = opts.fastStart ?? false;
  const env = opts.env ?? process.env;
  if (opts.redis && opts.redis !== 'single' && mode === 'docker')
    throw new StackError(
      'BAD_OPTION',
      `--redis ${opts.redis} runs native engines only: drop --engines docker`,
    );
  return withLock(
    stateDir,
    async () => {
      const existing = readState(stateDir);
      // Unasked, the topology is the existing stack's: `cdc run` must not swap a cluster stack for a single one.
      const topology = opts.redis ?? (mode === 'native' ? existing?.redis : undefined) ?? 'single';
      const chosen: StackOptions = { ...opts, redis: topology };
      if (existing) {
        const engines = await engineStatuses(stateDir, existing);
        const endpoints = endpointsOf(existing);
        const wanted = { single: 3, replica: 4, cluster: 3 + CLUSTER_NODE_NAMES.length }[topology];
        const alive = endpoints && engines.length === wanted && engines.every((e) => e.ready);
        const sameKind =
          existing.mode === mode &&
          (existing.fastStart ?? fastStart) === fastStart &&
          (existing.redis ?? 'single') === topology;
        if (alive && sameKind) {
          log(`stack: reusing the running stack in ${stateDir}`);
          return { endpoints, engines, reused: true, actions: engines.map(keptAction) };
        }
        const complete = endpoints && engines.length === wanted;
        if (!alive && sameKind && complete && mode === 'native' && engines.some((e) => e.running)) {
          log('stack: some engines are down; restarting only those, on their own ports and data');
          const tools = await nativePreflight(chosen, env);
          return { ...(await restartDeadEngines(stateDir, existing, engines, chosen, tools)), reused: false };
        }
        if (alive) log(`stack: the running stack differs (engines/fastStart/redis); replacing it`);
        else if (engines.some((e) => e.running))
          log(
            'stack: the previous stack is only partly alive and cannot be repaired in place; restarting it',
          );
      }
      const tools = mode === 'docker' ? await ensureDocker(env) : await nativePreflight(chosen, env);
      await stopAll(stateDir, existing, log);
      const started =
        typeof tools === 'string'
          ? await upDocker(stateDir, chosen, tools)
          : await upNative(stateDir, chosen, tools);
      return { ...started, reused: false, actions: started.engines.map(startedAction) };
    },
    { log },
  );
}

async function upNative(
  stateDir: string,
  opts: StackOptions,
  { java, redisBin, libs, dist }: NativeTools,
): Promise<{ endpoints: StackEndpoints; engines: EngineStatus[] }> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? noop;
  const fastStart = opts.fastStart ?? false;
  cleanEngineDirs(stateDir);
  const [redisPort, brokerPort, controllerPort] = (await freePorts(3)) as [number, number, number];
  const dynamoPort = await freePort({ allInterfaces: true }); // DynamoDB Local binds 0.0.0.0
  const runId = randomBytes(4).toString('hex');
  const ctx: LaunchContext = { stateDir, runId, env, fastStart, log };
  const createdAt = new Date().toISOString();
  const topology = opts.redis ?? 'single';
  const state: StackState = {
    version: 1,
    id: runId,
    mode: 'native',
    fastStart,
    redis: topology,
    createdAt,
    engines: {},
  };
  const timeouts = { ...DEFAULT_READY_TIMEOUT_MS, ...opts.readyTimeoutMs };

  const replicaPort = topology === 'replica' ? await freePort() : 0;
  const clusterPorts = topology === 'cluster' ? await freePorts(CLUSTER_NODE_NAMES.length) : [];
  const launchers: Record<CoreEngineName, () => Promise<Launched> | Launched> = {
    redis: () =>
      topology === 'cluster'
        ? launchRedisClusterNode(ctx, redisBin, 'redis', redisPort)
        : launchRedis(ctx, redisBin, redisPort),
    kafka: () => launchKafka(ctx, java, libs, { brokerPort, controllerPort }),
    dynamodb: () => launchDynamo(ctx, java, dist, dynamoPort),
  };
  const bringUp = async (launch: () => Promise<Launched> | Launched, abort: Abort) => {
    const l = await launch();
    const rec = await recordUntilReady(l, state, stateDir, timeouts[l.name], abort);
    log(`${l.name} ready in ${rec.readyMs} ms (pid ${l.spawned.pid}, ${l.endpoint})`);
    return statusOf(l.name, rec, true, true);
  };
  try {
    const engines = await allOrFirstError(
      ENGINE_NAMES.map((name) => async (abort) => {
        const core = await bringUp(launchers[name], abort);
        // The replica needs its primary up first; it is ready once it has synced.
        if (name !== 'redis' || topology === 'single') return [core];
        if (topology === 'replica')
          return [
            core,
            await bringUp(() => launchRedisReplica(ctx, redisBin, replicaPort, redisPort), abort),
          ];
        // The other five cluster nodes, then the cluster itself (3 primaries, 1 replica each).
        const others = await Promise.all(
          CLUSTER_NODE_NAMES.map((n, i) =>
            bringUp(() => launchRedisClusterNode(ctx, redisBin, n, clusterPorts[i] as number), abort),
          ),
        );
        await createCluster(redisBin, [redisPort, ...clusterPorts]);
        log(`redis cluster ready (${1 + others.length} nodes)`);
        return [core, ...others];
      }),
    );
    return { endpoints: endpointsOf(state) as StackEndpoints, engines: engines.flat() };
  } catch (e) {
    await stopAll(stateDir, state, log).catch(noop);
    throw e;
  }
}

/** Stops exactly what state.json lists (and leftovers of this state dir), then removes state and data. */
export async function stackDown(
  opts: Pick<StackOptions, 'stateDir' | 'log'>,
): Promise<{ stopped: EngineStatus[] }> {
  const stateDir = canonicalDir(opts.stateDir, false);
  if (!existsSync(stateDir)) return { stopped: [] };
  const log = opts.log ?? noop;
  return withLock(stateDir, async () => ({ stopped: await stopAll(stateDir, readState(stateDir), log) }), {
    log,
  });
}

export async function stackStatus(
  opts: Pick<StackOptions, 'stateDir'>,
): Promise<{ endpoints?: StackEndpoints; engines: EngineStatus[] }> {
  const stateDir = canonicalDir(opts.stateDir, false);
  const state = readState(stateDir);
  if (!state) return { engines: [] };
  const engines = await engineStatuses(stateDir, state);
  const endpoints = endpointsOf(state);
  return endpoints ? { endpoints, engines } : { engines };
}
