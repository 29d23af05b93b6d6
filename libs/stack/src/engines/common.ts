import { mkdirSync, writeFileSync } from 'node:fs';
import type { Spawned } from '../process';
import type { EngineName } from '../types';

export interface LaunchContext {
  stateDir: string;
  runId: string;
  env: NodeJS.ProcessEnv;
  fastStart: boolean;
  log: (line: string) => void;
}

/** An engine process that has been spawned but is not known to be ready yet. */
export interface Launched {
  name: EngineName;
  port: number;
  endpoint: string;
  logFile: string;
  spawned: Spawned;
  /** When the engine's first process was spawned: readyMs counts from here. */
  since: number;
}

/** Fresh, empty log per run, so a failure's log tail shows this run only. */
export function freshLog(path: string): string {
  writeFileSync(path, '');
  return path;
}

export function ensureDir(path: string): string {
  mkdirSync(path, { recursive: true });
  return path;
}
