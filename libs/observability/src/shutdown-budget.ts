import type { CdcConfig } from '@cdc/config';

/**
 * How long one stage (capture, applier, verifier) may take to stop: a third of CDC_SHUTDOWN_TIMEOUT_MS, since
 * `cdc run` stops the three one after the other. Past it the stage drops its connections, so pending calls
 * fail at once instead of waiting for an engine that is gone.
 */
export const stageStopMs = (config: Pick<CdcConfig, 'shutdownTimeoutMs'>): number =>
  Math.floor(config.shutdownTimeoutMs / 3);

export interface StageBudget {
  /** For the drain (in-flight work finished); the rest of the stage is kept for closing connections. */
  readonly drainMs: number;
  /** What is left of the stage now (never negative): each close after the drain waits at most this. */
  left(): number;
}

/**
 * One stage's shutdown as a deadline rather than a sum of waits: the drain gets the stage less a reserve
 * (30%, at most 2 s) for the closes after it, and each close waits only for what is left, so a stage never
 * outlasts its share however many engines are gone.
 */
export function stageBudget(config: Pick<CdcConfig, 'shutdownTimeoutMs'>, now = Date.now): StageBudget {
  const stage = stageStopMs(config);
  const deadline = now() + stage;
  return {
    drainMs: stage - Math.min(2_000, Math.floor(stage * 0.3)),
    left: () => Math.max(0, deadline - now()),
  };
}

/** Waits for `work` at most `ms`; true when it settled (resolved or rejected) in time. Never throws. */
export async function settlesWithin(work: Promise<unknown> | undefined, ms: number): Promise<boolean> {
  if (!work) return true;
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<false>(
    (resolve) => (timer = setTimeout(() => resolve(false), Math.max(0, ms))),
  );
  const settled = work.then(
    () => true as const,
    () => true as const,
  );
  try {
    return await Promise.race([settled, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
