import { isInternalKey, readRunId, scanStep } from '@cdc/redis';
import type Redis from 'ioredis';

/** Where a scan stands; saved after every batch so a killed scan resumes instead of starting over. */
export interface ScanCheckpoint {
  readonly cursor: string;
  readonly scanned: number;
  readonly captured: number;
  readonly startedAt: number;
  readonly match?: string;
  /** The run id of the server the cursor belongs to: a SCAN cursor means nothing on another server. */
  readonly node?: string;
  /** Which of the scanned nodes (a cluster's shards, in order) the cursor is on; 0 for one node. */
  readonly nodeIndex?: number;
}

/** A resumed or running scan found its cursor belongs to another server than the one it now reads. */
export class ScanNodeChangedError extends Error {}

export interface CheckpointStore {
  load(): Promise<ScanCheckpoint | null>;
  save(checkpoint: ScanCheckpoint): Promise<void>;
  clear(): Promise<void>;
}

export interface ScanOptions {
  readonly match?: string;
  /** Keys per second at most (0 = unlimited). */
  readonly rate: number;
  /** SCAN COUNT hint per step. */
  readonly count?: number;
  readonly resumeFrom?: ScanCheckpoint | null;
  readonly signal?: AbortSignal;
  readonly onProgress?: (p: ScanCheckpoint) => void;
  /**
   * When the cursor's server is not the one read now (another replica was chosen, the replica restarted or
   * capture moved): start over from cursor 0 (gap healing), or fail naming it (a resumed snapshot). Default fail.
   */
  readonly onOtherNode?: 'restart' | 'fail';
}

export interface ScanResult extends ScanCheckpoint {
  readonly completed: boolean;
}

/** What a scan covers: one node, or several (a Redis Cluster's shards); a getter when they may change. */
export type ScanNodes = Redis | (() => Redis | readonly Redis[]);

/**
 * SCAN the keyspace and re-capture every key through the log with a fresh version (design invariant 6): the
 * snapshot/backfill and the gap reconciliation. SCAN returns every key that exists for the whole scan at least
 * once; keys written meanwhile are live capture's job. Internal `__cdc:` keys are skipped. Several nodes (the
 * shards of a cluster) are scanned one after the other; `filter` keeps only some keys (the slots of a gap).
 */
export class KeyspaceScanner {
  private readonly nodes: () => readonly Redis[];

  constructor(
    nodes: ScanNodes,
    private readonly recapture: (keys: Buffer[]) => Promise<number>,
    private readonly checkpoints: CheckpointStore,
  ) {
    this.nodes =
      typeof nodes === 'function'
        ? () => {
            const n = nodes();
            return Array.isArray(n) ? (n as readonly Redis[]) : [n as Redis];
          }
        : () => [nodes];
  }

  async run(opts: ScanOptions & { readonly filter?: (key: Buffer) => boolean }): Promise<ScanResult> {
    const count = opts.count ?? 500;
    const fresh = (): ScanCheckpoint => ({
      cursor: '0',
      scanned: 0,
      captured: 0,
      startedAt: Date.now(),
      ...(opts.match ? { match: opts.match } : {}),
      nodeIndex: 0,
    });
    let state: ScanCheckpoint = opts.resumeFrom ?? fresh();
    const limiter = new RateLimiter(opts.rate);
    let client: Redis | undefined;
    let node = '';
    for (;;) {
      if (opts.signal?.aborted) return { ...state, completed: false };
      const index = state.nodeIndex ?? 0;
      const nodes = this.nodes();
      if (index >= nodes.length) break;
      const current = nodes[index] as Redis;
      if (current !== client) {
        client = current;
        node = await readRunId(client);
      }
      if (state.node !== undefined && state.node !== node) {
        if (opts.onOtherNode !== 'restart')
          throw new ScanNodeChangedError(
            `the scan checkpoint's cursor belongs to another Redis server (run id ${state.node}, now ${node}): ` +
              'SCAN cursors do not carry over between servers; start the scan over (without --resume)',
          );
        state = fresh();
        continue;
      }
      const step = await scanStep(client, state.cursor, {
        count,
        ...(opts.match ? { match: opts.match } : {}),
      });
      const keys = step.keys.filter((k) => !isInternalKey(k) && (!opts.filter || opts.filter(k)));
      await limiter.take(keys.length, opts.signal);
      const captured = keys.length > 0 ? await this.recapture(keys) : 0;
      const done = step.cursor === '0';
      state = {
        ...state,
        // A node scanned to its end hands over to the next one, from its own cursor 0.
        ...(done ? { nodeIndex: index + 1, node: undefined } : { nodeIndex: index, node }),
        cursor: step.cursor,
        scanned: state.scanned + keys.length,
        captured: state.captured + captured,
      };
      await this.checkpoints.save(state);
      opts.onProgress?.(state);
    }
    await this.checkpoints.clear();
    return { ...state, completed: true };
  }
}

/** Spreads `rate` units per second evenly; an abort ends the wait at once. */
export class RateLimiter {
  private next = 0;

  constructor(private readonly rate: number) {}

  /** Books `units` and returns how long to wait first (ms). Pure given `now`: the schedule is testable. */
  reserve(units: number, now: number): number {
    if (this.rate <= 0 || units === 0) return 0;
    const start = Math.max(now, this.next);
    this.next = start + (units * 1000) / this.rate;
    return start - now;
  }

  async take(units: number, signal?: AbortSignal): Promise<void> {
    const wait = this.reserve(units, performance.now());
    if (wait <= 0 || signal?.aborted) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(done, wait);
      function done() {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
    });
  }
}
