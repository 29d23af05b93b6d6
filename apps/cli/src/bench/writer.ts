import { setTimeout as delay } from 'node:timers/promises';
import type Redis from 'ioredis';
import { LatencyHistogram } from './stats';

export interface ClosedLoopOptions {
  readonly durationMs: number;
  /** Keyspace size; key j belongs to client j % clients (one writer per key, so its final value is known). */
  readonly keys: number;
  readonly keyPrefix: string;
  readonly valueBytes: number;
  /**
   * Total writes/s to offer (each client paced at rate ÷ clients); default: as fast as each SET returns. A fixed
   * rate makes the server's CPU per write comparable between phases: at equal load a server batches equally.
   */
  readonly rate?: number;
  /** Called about every 250 ms with the writes done so far. */
  readonly onProgress?: (writes: number, elapsedMs: number) => void;
}

export interface ClosedLoopResult {
  readonly writes: number;
  readonly elapsedMs: number;
  readonly latency: LatencyHistogram;
  /** Final value written to each key (key -> value), in write order per key. */
  readonly finalValues: Map<string, string>;
}

export const keyName = (prefix: string, j: number): string => `${prefix}${j}`;

/** `<client>:<n>:` padded with x to `bytes` (the sequence number is in-band, so loss is checkable). */
export function sequencedValue(client: number, n: number, bytes: number): string {
  const head = `${client}:${n}:`;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

/**
 * An application-like writer: every client has its own connection and awaits each SET before the next
 * (ioredis auto-pipelining off), over a uniformly random key among the keys it owns.
 */
export async function runClosedLoopWriter(
  clients: readonly Redis[],
  opts: ClosedLoopOptions,
): Promise<ClosedLoopResult> {
  const n = clients.length;
  const latency = new LatencyHistogram();
  const finalValues = new Map<string, string>();
  let writes = 0;
  const started = performance.now();
  const stopAt = started + opts.durationMs;
  const ticker = opts.onProgress
    ? setInterval(() => opts.onProgress?.(writes, performance.now() - started), 250)
    : undefined;

  const loop = async (redis: Redis, c: number): Promise<void> => {
    const owned = Math.ceil((opts.keys - c) / n); // keys c, c+n, c+2n, ... below opts.keys
    if (owned <= 0) return;
    let seq = 0;
    let t = performance.now();
    const intervalMs = opts.rate ? (n * 1000) / opts.rate : 0;
    const firstDue = t + (intervalMs * c) / n; // clients staggered over one interval
    while (t < stopAt) {
      if (intervalMs > 0) {
        const due = firstDue + seq * intervalMs;
        if (due >= stopAt) break;
        if (due > t) await delay(due - t);
        t = performance.now();
      }
      const key = keyName(opts.keyPrefix, c + n * Math.floor(Math.random() * owned));
      const value = sequencedValue(c, ++seq, opts.valueBytes);
      await redis.set(key, value);
      const now = performance.now();
      latency.record(now - t);
      finalValues.set(key, value);
      writes++;
      t = now;
    }
  };
  try {
    await Promise.all(clients.map((redis, c) => loop(redis, c)));
  } finally {
    if (ticker) clearInterval(ticker);
  }
  return { writes, elapsedMs: performance.now() - started, latency, finalValues };
}

/** Writes `count` keys as fast as the server takes them: MSET of `perCommand` keys, pipelined, `inFlight` at once. */
export async function runBurstWriter(
  redis: Redis,
  opts: {
    readonly count: number;
    readonly keyPrefix: string;
    readonly value: (i: number) => string;
    readonly perCommand?: number;
    readonly perPipeline?: number;
    readonly inFlight?: number;
    readonly onProgress?: (written: number) => void;
  },
): Promise<{ elapsedMs: number; firstWriteAt: number }> {
  const perCommand = opts.perCommand ?? 100;
  const perPipeline = opts.perPipeline ?? 20;
  const chunk = perCommand * perPipeline;
  let next = 0;
  let written = 0;
  const firstWriteAt = performance.now();
  const worker = async (): Promise<void> => {
    while (next < opts.count) {
      const from = next;
      const to = Math.min(from + chunk, opts.count);
      next = to;
      const pipeline = redis.pipeline();
      for (let i = from; i < to; i += perCommand) {
        const args: string[] = [];
        for (let j = i; j < Math.min(i + perCommand, to); j++)
          args.push(keyName(opts.keyPrefix, j), opts.value(j));
        pipeline.mset(...args);
      }
      const replies = (await pipeline.exec()) ?? [];
      for (const [err] of replies) if (err) throw err;
      written += to - from;
      opts.onProgress?.(written);
    }
  };
  await Promise.all(Array.from({ length: opts.inFlight ?? 2 }, () => worker()));
  return { elapsedMs: performance.now() - firstWriteAt, firstWriteAt };
}
