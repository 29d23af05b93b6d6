import { randomBytes } from 'node:crypto';
import { linkSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { isAlive } from './process';
import {
  ALL_ENGINE_NAMES,
  CLUSTER_NODE_NAMES,
  type EngineMode,
  type EngineName,
  type RedisTopology,
  type StackEndpoints,
} from './types';

export interface EngineRecord {
  pid?: number; // native: leader of the engine's process group
  containerId?: string; // docker
  port: number;
  endpoint: string;
  logFile?: string;
  startedAt: string;
  readyMs?: number;
}

export interface StackState {
  version: 1;
  id: string;
  mode: EngineMode;
  /** Started with C1-only JVMs (tests); a benchmark must not reuse such a stack. */
  fastStart?: boolean;
  /** Absent in states written before the replica topology existed: single. */
  redis?: RedisTopology;
  createdAt: string;
  engines: Partial<Record<EngineName, EngineRecord>>;
}

export const statePath = (stateDir: string): string => join(stateDir, 'state.json');
const lockPath = (stateDir: string): string => join(stateDir, 'stack.lock');

const isObj = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);
const isPort = (v: unknown): v is number => Number.isInteger(v) && (v as number) > 0 && (v as number) < 65536;

function parseEngine(v: unknown): EngineRecord | undefined {
  if (!isObj(v) || !isPort(v.port) || typeof v.endpoint !== 'string' || typeof v.startedAt !== 'string') {
    return undefined;
  }
  const pid = Number.isInteger(v.pid) && (v.pid as number) > 0 ? (v.pid as number) : undefined;
  const containerId = typeof v.containerId === 'string' && v.containerId ? v.containerId : undefined;
  if (pid === undefined && containerId === undefined) return undefined;
  const rec: EngineRecord = { port: v.port, endpoint: v.endpoint, startedAt: v.startedAt };
  if (pid !== undefined) rec.pid = pid;
  if (containerId !== undefined) rec.containerId = containerId;
  if (typeof v.logFile === 'string') rec.logFile = v.logFile;
  if (typeof v.readyMs === 'number') rec.readyMs = v.readyMs;
  return rec;
}

/** Parses state.json; anything malformed is treated as "no state" (the orphan sweep in stackDown still runs). */
export function parseState(text: string): StackState | undefined {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObj(raw) || raw.version !== 1 || !isObj(raw.engines)) return undefined;
  if (raw.mode !== 'native' && raw.mode !== 'docker') return undefined;
  const engines: StackState['engines'] = {};
  for (const name of ALL_ENGINE_NAMES) {
    if (raw.engines[name] === undefined) continue;
    const rec = parseEngine(raw.engines[name]);
    if (!rec) return undefined;
    engines[name] = rec;
  }
  const state: StackState = {
    version: 1,
    id: typeof raw.id === 'string' ? raw.id : '',
    mode: raw.mode,
    createdAt: typeof raw.createdAt === 'string' ? raw.createdAt : '',
    engines,
  };
  if (typeof raw.fastStart === 'boolean') state.fastStart = raw.fastStart;
  if (raw.redis === 'single' || raw.redis === 'replica' || raw.redis === 'cluster') state.redis = raw.redis;
  return state;
}

/** Endpoints only when all three engines are recorded. */
export function endpointsOf(state: StackState): StackEndpoints | undefined {
  const { redis, kafka, dynamodb } = state.engines;
  if (!redis || !kafka || !dynamodb) return undefined;
  const replica = state.engines['redis-replica'];
  const cluster = [redis, ...CLUSTER_NODE_NAMES.flatMap((n) => state.engines[n] ?? [])];
  return {
    redisUrl: redis.endpoint,
    kafkaBrokers: kafka.endpoint,
    dynamodbEndpoint: dynamodb.endpoint,
    ...(replica ? { redisReplicaUrl: replica.endpoint } : {}),
    ...(cluster.length > 1 ? { redisClusterNodes: cluster.map((e) => `127.0.0.1:${e.port}`).join(',') } : {}),
  };
}

export function readState(stateDir: string): StackState | undefined {
  try {
    return parseState(readFileSync(statePath(stateDir), 'utf8'));
  } catch {
    return undefined;
  }
}

/** Write-then-rename, so a reader never sees half a file. */
export function writeState(stateDir: string, state: StackState): void {
  mkdirSync(stateDir, { recursive: true });
  const tmp = `${statePath(stateDir)}.${process.pid}.tmp`;
  writeFileSync(tmp, JSON.stringify(state, null, 2) + '\n');
  renameSync(tmp, statePath(stateDir));
}

export const removeState = (stateDir: string): void => rmSync(statePath(stateDir), { force: true });

interface LockContent {
  pid: number;
  token: string;
  at: number;
}

const readLock = (path: string): { text: string; lock?: LockContent } => {
  let text = '';
  try {
    text = readFileSync(path, 'utf8');
    const v = JSON.parse(text) as unknown;
    if (isObj(v) && Number.isInteger(v.pid) && typeof v.token === 'string' && typeof v.at === 'number') {
      return { text, lock: { pid: v.pid as number, token: v.token, at: v.at } };
    }
  } catch {
    /* missing, or caught half-written */
  }
  return { text };
};

/**
 * A lock is stale when its holder is dead, or it is older than maxAgeMs (a recycled pid would otherwise block
 * forever). A lock file that cannot be parsed is only stale once it is old: its writer may be mid-write.
 */
export function isStaleLock(lock: LockContent | undefined, ageMs: number, maxAgeMs: number): boolean {
  if (ageMs > maxAgeMs) return true;
  if (!lock) return ageMs > 5_000;
  return !isAlive(lock.pid);
}

/**
 * Runs fn while holding <stateDir>/stack.lock (O_EXCL create). Two stackUp calls on the same state dir (two
 * vitest projects' global setups, two terminals) are serialised: the second one then finds a live stack and
 * reuses it. The holder's pid in the file lets a crashed holder's lock be taken over.
 */
export async function withLock<T>(
  stateDir: string,
  fn: () => Promise<T>,
  opts: { timeoutMs?: number; log?: (line: string) => void } = {},
): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 15 * 60_000; // long enough to wait out a first jar fetch plus Kafka start
  mkdirSync(stateDir, { recursive: true });
  const path = lockPath(stateDir);
  const mine: LockContent = { pid: process.pid, token: randomBytes(8).toString('hex'), at: Date.now() };
  const deadline = Date.now() + timeoutMs;
  let announced = false;
  for (;;) {
    try {
      writeFileSync(path, JSON.stringify(mine), { flag: 'wx' });
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
    }
    const { text, lock } = readLock(path);
    const age = Date.now() - (lock?.at ?? mtimeMs(path));
    if (isStaleLock(lock, age, timeoutMs)) {
      takeOverStale(path, text);
      continue;
    }
    if (Date.now() > deadline) {
      throw new Error(
        `timed out waiting for ${path} (held by pid ${lock?.pid ?? '?'}); remove it if that is stale`,
      );
    }
    if (!announced && lock) {
      opts.log?.(`stack: waiting for another stack operation (pid ${lock.pid}) on ${stateDir}…`);
      announced = true;
    }
    await sleep(100 + Math.floor(Math.random() * 100));
  }
  try {
    return await fn();
  } finally {
    if (readLock(path).lock?.token === mine.token) rmSync(path, { force: true });
  }
}

const mtimeMs = (path: string): number => {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
};

/** Moves a stale lock aside; if what was moved is not what we judged stale (a race), puts it back. */
function takeOverStale(path: string, judged: string): void {
  const aside = `${path}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
  try {
    renameSync(path, aside);
  } catch {
    return; // someone else took it over first
  }
  try {
    if (readFileSync(aside, 'utf8') !== judged) linkSync(aside, path); // fails if a new lock exists: fine
  } catch {
    /* best effort */
  }
  rmSync(aside, { force: true });
}
