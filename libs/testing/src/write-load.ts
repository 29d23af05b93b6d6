import type Redis from 'ioredis';

export interface WriteLoad {
  /** Commands sent so far. */
  readonly ops: number;
  /** Stops after the pipeline in flight; resolves with the number of commands sent, rejects if one failed. */
  stop(): Promise<number>;
}

/**
 * A steady write load over a fixed key set until stopped: pipelines of INCR, every tenth command a DEL (so
 * tombstones are written under load too). Deterministic key order; no assertion on its rate.
 */
export function startWriteLoad(
  redis: Redis,
  keys: readonly string[],
  opts: { pipeline?: number; pauseMs?: number } = {},
): WriteLoad {
  if (keys.length === 0) throw new Error('startWriteLoad needs at least one key');
  const size = opts.pipeline ?? 10;
  const pauseMs = opts.pauseMs ?? 20;
  let running = true;
  let ops = 0;
  let i = 0;
  const loop = (async () => {
    while (running) {
      const p = redis.pipeline();
      for (let j = 0; j < size; j++, i++) {
        const key = keys[(i * 7919) % keys.length] as string;
        if (i % 10 === 9) p.del(key);
        else p.incr(key);
      }
      const results = (await p.exec()) ?? [];
      const failed = results.find(([err]) => err);
      if (failed) throw failed[0] as Error;
      ops += size;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  // Observed here so a failure is not an unhandled rejection before stop() is called; stop() rethrows it.
  let error: unknown;
  loop.catch((err: unknown) => (error = err));
  return {
    get ops() {
      return ops;
    },
    async stop() {
      running = false;
      await loop.catch(() => undefined);
      if (error) throw error as Error;
      return ops;
    },
  };
}

/**
 * SETs keys (in a fixed rotation) to a globally increasing sequence number, and every tenth command DELs one:
 * a higher number on a key is a later state of it, which `sequenceVersionRegressions` checks versions against.
 * Commands that fail (a primary failing over) are retried by the client or skipped; the load goes on.
 */
export function startSequenceWriter(
  redis: Redis,
  keys: readonly string[],
  opts: { pipeline?: number; pauseMs?: number } = {},
): WriteLoad {
  if (keys.length === 0) throw new Error('startSequenceWriter needs at least one key');
  const size = opts.pipeline ?? 10;
  const pauseMs = opts.pauseMs ?? 20;
  let running = true;
  let ops = 0;
  let seq = 0;
  const loop = (async () => {
    while (running) {
      const p = redis.pipeline();
      for (let j = 0; j < size; j++) {
        seq++;
        const key = keys[(seq * 7919) % keys.length] as string;
        if (seq % 10 === 0) p.del(key);
        else p.set(key, String(seq));
      }
      await p.exec().catch(() => undefined);
      ops += size;
      await new Promise((r) => setTimeout(r, pauseMs));
    }
  })();
  return {
    get ops() {
      return ops;
    },
    async stop() {
      running = false;
      await loop;
      return ops;
    },
  };
}
