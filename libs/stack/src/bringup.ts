import { StackError } from './errors';
import type { Launched } from './engines/common';
import { isAlive, tailFile, type ExitInfo } from './process';
import { probeEngine, waitReady } from './probes';
import { type EngineRecord, type StackState, writeState } from './state';
import { CLUSTER_NODE_NAMES, type ClusterNodeName, type EngineName, type EngineStatus } from './types';

const perClusterNode = <T>(v: T) =>
  Object.fromEntries(CLUSTER_NODE_NAMES.map((n) => [n, v])) as Record<ClusterNodeName, T>;

export const DEFAULT_READY_TIMEOUT_MS: Record<EngineName, number> = {
  redis: 30_000,
  'redis-replica': 30_000,
  ...perClusterNode(30_000),
  kafka: 90_000,
  dynamodb: 30_000,
};

const PROBE_DESCRIPTION: Record<EngineName, string> = {
  redis: 'PING',
  'redis-replica': 'INFO replication (link up)',
  ...perClusterNode('PING'),
  kafka: 'the admin client (describeCluster, create/delete a topic)',
  dynamodb: 'ListTables',
};

export const describeExit = (e: ExitInfo): string =>
  e.error
    ? `could not start: ${e.error.message}`
    : e.signal
      ? `killed by ${e.signal}`
      : `exit code ${e.code}`;

/** Set when a sibling engine failed: the others stop waiting. */
export class Abort {
  reason: string | undefined;
}

export const ABORTED = 'aborted because another engine failed';

export function statusOf(
  name: EngineName,
  rec: EngineRecord,
  running: boolean,
  ready: boolean,
): EngineStatus {
  const s: EngineStatus = { name, port: rec.port, endpoint: rec.endpoint, running, ready };
  if (rec.pid !== undefined) s.pid = rec.pid;
  if (rec.containerId !== undefined) s.containerId = rec.containerId;
  if (rec.readyMs !== undefined) s.readyMs = rec.readyMs;
  if (rec.logFile !== undefined) s.logFile = rec.logFile;
  return s;
}

/** Waits until a freshly spawned native engine answers its protocol probe; throws a StackError otherwise. */
export async function awaitNativeReady(l: Launched, timeoutMs: number, abort: Abort): Promise<number> {
  const r = await waitReady(() => probeEngine(l.name, l.endpoint, true), {
    timeoutMs,
    since: l.since,
    gone: () => {
      if (abort.reason) return ABORTED;
      const exit = l.spawned.exited();
      if (exit) return describeExit(exit);
      return isAlive(l.spawned.pid) ? undefined : 'the process disappeared';
    },
  });
  if (r.ok) return r.readyMs;
  if (r.failure.kind === 'exited' && r.failure.detail === ABORTED) throw new Error(ABORTED);
  throw readinessError(l.name, r.failure, timeoutMs, tailFile(l.logFile, 40), l.logFile);
}

export function readinessError(
  name: EngineName,
  failure: { kind: 'exited'; detail: string } | { kind: 'timeout'; lastError: string },
  timeoutMs: number,
  tail: string,
  logFile?: string,
): StackError {
  const where = logFile ? `Last lines of ${logFile}` : 'Last lines of its log';
  const logPart = tail ? `\n${where}:\n${tail}\n` : '\n';
  if (failure.kind === 'exited') {
    return new StackError(
      'ENGINE_EXITED',
      `${name} exited before it was ready (${failure.detail}).${logPart}` +
        'Fix what the log reports (a port taken, memory, a damaged cache), then run `cdc stack up` again.',
      name,
    );
  }
  return new StackError(
    'ENGINE_TIMEOUT',
    `${name} did not answer ${PROBE_DESCRIPTION[name]} within ${Math.round(timeoutMs / 1000)} s ` +
      `(last error: ${failure.lastError}).${logPart}` +
      'The machine may be overloaded: retry, or raise readyTimeoutMs.',
    name,
  );
}

/**
 * Runs one task per engine in parallel. On the first real failure the others are told to stop waiting; the
 * error thrown is the first failure that is not such an abort.
 */
export async function allOrFirstError<T>(tasks: Array<(abort: Abort) => Promise<T>>): Promise<T[]> {
  const abort = new Abort();
  const settled = await Promise.allSettled(
    tasks.map((t) =>
      t(abort).catch((e: unknown) => {
        abort.reason ??= e instanceof Error ? e.message : String(e);
        throw e;
      }),
    ),
  );
  const failures = settled
    .filter((s): s is PromiseRejectedResult => s.status === 'rejected')
    .map((s): unknown => s.reason);
  if (failures.length > 0) {
    throw failures.find((e) => !(e instanceof Error && e.message === ABORTED)) ?? failures[0];
  }
  return settled.map((s) => (s as PromiseFulfilledResult<T>).value);
}

/**
 * A spawned engine, recorded in the stack state at once (if this process dies now, stackDown still finds it),
 * then waited for until it answers; its readyMs is recorded too. `cdc stack up` and the restart of dead engines
 * both bring engines up this way.
 */
export async function recordUntilReady(
  l: Launched,
  state: StackState,
  stateDir: string,
  timeoutMs: number,
  abort: Abort,
): Promise<EngineRecord> {
  const rec: EngineRecord = {
    pid: l.spawned.pid,
    port: l.port,
    endpoint: l.endpoint,
    logFile: l.logFile,
    startedAt: new Date(l.since).toISOString(),
  };
  state.engines[l.name] = rec;
  writeState(stateDir, state);
  rec.readyMs = await awaitNativeReady(l, timeoutMs, abort);
  writeState(stateDir, state);
  return rec;
}
