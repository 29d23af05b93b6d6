import type { CdcConfig } from '@cdc/config';

/**
 * How long one stage (capture, applier, verifier) may take to stop: a third of CDC_SHUTDOWN_TIMEOUT_MS, since
 * `cdc run` stops the three one after the other. Past it the stage drops its connections, so pending calls
 * fail at once instead of waiting for an engine that is gone.
 */
export const stageStopMs = (config: Pick<CdcConfig, 'shutdownTimeoutMs'>): number =>
  Math.floor(config.shutdownTimeoutMs / 3);

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
