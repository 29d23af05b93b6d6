import { join } from 'node:path';
import { type RedisTopology, stackDown, stackUp, type StackUpResult } from '@cdc/stack';
import { cdcHome, enginesDir } from '../paths';
import type { Progress } from './progress';

/** What a bench started and must stop, also on Ctrl-C (the command's signal handler reads it). */
export interface BenchStackHandle {
  stackToStop?: string;
}

/**
 * Every bench runs on `.cdc/bench-stack`, engines with their full JIT (fastStart off): started here, or reused
 * when already running (then left running, like one started with `keepStack`).
 */
export async function benchStackUp(
  progress: Progress,
  res: BenchStackHandle,
  keepStack = false,
  redis: RedisTopology = 'single',
): Promise<StackUpResult & { stateDir: string }> {
  const stateDir = join(cdcHome(), 'bench-stack');
  progress.line(`stack: ${stateDir} (fastStart off${redis === 'replica' ? ', Redis with a replica' : ''})`);
  const up = await stackUp({
    stateDir,
    cacheDir: enginesDir(),
    fastStart: false,
    redis,
    log: (line) => progress.line(`  ${line}`),
  });
  if (!up.reused && !keepStack) res.stackToStop = stateDir;
  return { ...up, stateDir };
}

/** Stops the bench stack if this run started it (and was not asked to keep it). */
export async function benchStackDown(progress: Progress, res: BenchStackHandle): Promise<void> {
  if (!res.stackToStop) return;
  progress.line('stack: stopping the bench stack');
  await stackDown({ stateDir: res.stackToStop, log: (line) => progress.line(`  ${line}`) });
  res.stackToStop = undefined;
}
