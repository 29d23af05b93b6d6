import { setTimeout as delay } from 'node:timers/promises';
import type Redis from 'ioredis';
import { RAISE_EPOCH } from './read-scripts';
import { readReplication } from './replication-info';
import { INTERNAL_PREFIX, slotTag } from './slot';

/**
 * Epochs (design invariant 1, docs/architecture.md "Versions"). A version is (epoch, position). The epoch
 * marker lives in the captured database on the primary, so it replicates like any data and a read on a
 * replica sees it atomically with the values: "<epoch>:<mode>:<primary's replication ID at the raise>".
 */
export const EPOCH_MARKER_KEY = `${INTERNAL_PREFIX}epoch`;
/** The primary-mode position counter (a hybrid logical clock) of the database the connection is on. */
export const VERSION_COUNTER_KEY = `${INTERNAL_PREFIX}ver`;

/**
 * In a Redis Cluster a script may only touch keys of one slot, so every slot has its own marker and counter,
 * in that slot (a hash tag of it): they move with the slot's keys when it migrates to another shard.
 */
export const clusterMarkerKey = (slot: number): string => `${EPOCH_MARKER_KEY}:{${slotTag(slot)}}`;
export const clusterCounterKey = (slot: number): string => `${VERSION_COUNTER_KEY}:{${slotTag(slot)}}`;

/** Where capture reads: on the primary (versions from a counter) or on a replica (from its offset). */
export type ReadMode = 'primary' | 'replica';

export interface EpochMarker {
  readonly epoch: bigint;
  readonly mode: ReadMode;
  readonly replid: string;
}

export function parseMarker(raw: string | Buffer | null | undefined): EpochMarker | null {
  const m = /^(\d+):(primary|replica):([0-9a-f]*)$/.exec(raw?.toString() ?? '');
  return m ? { epoch: BigInt(m[1] as string), mode: m[2] as ReadMode, replid: m[3] as string } : null;
}

/** Why a read cannot be versioned under the marker it saw, and what makes it versionable. */
export type EpochProblem =
  'no-marker' | 'mode-conflict' | 'history-changed' | 'behind' | 'no-counter' | 'no-offset';
export type EpochVerdict =
  | { readonly ok: true; readonly epoch: bigint }
  | { readonly ok: false; readonly problem: EpochProblem; readonly action: 'raise' | 'wait' | 'stop' };

/**
 * The one rule that decides whether a read may be versioned under the marker it saw (pure, property-tested):
 * - no marker (first use, FLUSHALL, a primary restarted without persistence), or one written by capture in the
 *   other mode (positions of the two modes do not compare): raise a new epoch;
 * - the marker was raised under another replication ID than the read node's: the history forked or restarted
 *   since (failover, promotion of a lagging replica, primary restart), so positions of the new history may be
 *   lower than ones already issued (on a primary: its clock may be another host's): raise;
 * - no position: primary mode's counter is gone while the marker is not (raise: the raise recreates it), or the
 *   replica-mode reader is a primary whose offset no longer moves (stop: only another node can be read);
 * - below `floor`, the highest epoch this process has seen or raised: on a replica that has not yet replayed
 *   our raise, wait for it; on the primary it means the raise was lost (raise again).
 */
export function judgeEpoch(
  marker: EpochMarker | null,
  mode: ReadMode,
  read: { readonly replid: string; readonly position: string },
  floor: bigint,
): EpochVerdict {
  if (!marker) return { ok: false, problem: 'no-marker', action: 'raise' };
  if (marker.mode !== mode) return { ok: false, problem: 'mode-conflict', action: 'raise' };
  if (marker.replid !== read.replid) return { ok: false, problem: 'history-changed', action: 'raise' };
  if (read.position === '')
    return mode === 'primary'
      ? { ok: false, problem: 'no-counter', action: 'raise' }
      : { ok: false, problem: 'no-offset', action: 'stop' };
  if (marker.epoch < floor)
    return { ok: false, problem: 'behind', action: mode === 'replica' ? 'wait' : 'raise' };
  return { ok: true, epoch: marker.epoch };
}

export interface EpochKeeperOptions {
  readonly mode: ReadMode;
  /** The primary, where raises are written. A getter: the primary may move (Sentinel). */
  readonly control: () => Redis;
  /** The node reads run on (the primary itself in primary mode). */
  readonly reader: () => Redis;
  /** How long a raise may take to show on the replica before it is reported (and raised again). */
  readonly showTimeoutMs?: number;
  /** Two captures in different modes flip the marker back and forth: at most one such raise per this. */
  readonly conflictBackoffMs?: number;
  readonly onRaise?: (epoch: bigint, problem: EpochProblem | 'start') => void;
  readonly onConflict?: (marker: string) => void;
  /** The marker and counter this keeper raises (default: the database's; a cluster slot has its own). */
  readonly markerKey?: string;
  readonly counterKey?: string;
}

/**
 * Raises epochs on the primary and waits until the read node shows them; one raise at a time per process.
 * `floor` is the highest epoch seen or raised here: a raise always goes above it, so even a new primary whose
 * data lost the latest marker (a lagging replica promoted) starts above every epoch this process issued.
 */
export class EpochKeeper {
  private highest = 0n;
  private settling: Promise<void> | undefined;
  private lastConflictRaise = 0;

  constructor(private readonly opts: EpochKeeperOptions) {}

  get mode(): ReadMode {
    return this.opts.mode;
  }

  get floor(): bigint {
    return this.highest;
  }

  /** Every epoch a read was versioned under: a later raise goes above it. */
  observe(epoch: bigint): void {
    if (epoch > this.highest) this.highest = epoch;
  }

  /** A fresh epoch for this process (capture start), shown on the read node before it returns. */
  async start(): Promise<bigint> {
    await this.raise('start');
    return this.highest;
  }

  /** Brings the marker to where reads can be versioned again; concurrent callers share one raise. */
  async settle(verdict: Exclude<EpochVerdict, { ok: true }>, marker: string): Promise<void> {
    this.settling ??= this.fix(verdict, marker).finally(() => (this.settling = undefined));
    await this.settling;
  }

  private async fix(verdict: Exclude<EpochVerdict, { ok: true }>, marker: string): Promise<void> {
    if (verdict.action === 'stop')
      throw new Error(
        'the node capture reads is a primary whose replication offset no longer moves (no replica attached ' +
          'for repl-backlog-ttl): its reads cannot be versioned; capture waits to move to a replica',
      );
    // Our raise not on the replica yet: wait for it. If it never comes, it was written on a primary that was
    // demoted meanwhile (a failover) and is lost: raise again, on whatever the primary is now.
    if (verdict.action === 'wait' && (await this.shown(this.highest))) return;
    if (verdict.problem === 'mode-conflict') {
      this.opts.onConflict?.(marker);
      const waitMs = this.lastConflictRaise + (this.opts.conflictBackoffMs ?? 1_000) - Date.now();
      if (waitMs > 0) await delay(waitMs);
      this.lastConflictRaise = Date.now();
    }
    await this.raise(verdict.problem);
  }

  private async raise(problem: EpochProblem | 'start'): Promise<void> {
    const control = this.opts.control();
    const raw = (await control.eval(
      RAISE_EPOCH,
      2,
      this.opts.markerKey ?? EPOCH_MARKER_KEY,
      this.opts.counterKey ?? VERSION_COUNTER_KEY,
      (this.highest + 1n).toString(),
      this.opts.mode,
    )) as string;
    const marker = parseMarker(raw);
    if (!marker) throw new Error(`the epoch raise returned an unreadable marker: ${raw}`);
    this.observe(marker.epoch);
    this.opts.onRaise?.(marker.epoch, problem);
    if (!(await this.shown(marker.epoch))) throw await this.notShownError(marker.epoch);
  }

  /** Polls the read node until its marker is at least `epoch` (at once in primary mode). */
  private async shown(epoch: bigint): Promise<boolean> {
    const deadline = Date.now() + (this.opts.showTimeoutMs ?? 5_000);
    for (let waitMs = 1; ; waitMs = Math.min(waitMs * 2, 100)) {
      const marker = parseMarker(await this.opts.reader().get(this.opts.markerKey ?? EPOCH_MARKER_KEY));
      if (marker && marker.epoch >= epoch) return true;
      if (Date.now() > deadline) return false;
      await delay(waitMs);
    }
  }

  /** Says why the replica did not show a raise: usually it does not replicate from the primary we write to. */
  private async notShownError(epoch: bigint): Promise<Error> {
    const [node, primary] = await Promise.all([
      readReplication(this.opts.reader()).catch(() => undefined),
      readReplication(this.opts.control()).catch(() => undefined),
    ]);
    const where = node?.primary
      ? `replicates from ${node.primary.host}:${node.primary.port} (replication ID ${node.replid}, link ${node.linkUp ? 'up' : 'down'})`
      : `is ${node ? 'a primary itself' : 'unreachable'}`;
    return new Error(
      `epoch ${epoch}, raised on the primary (replication ID ${primary?.replid ?? 'unknown'}), did not show on ` +
        `the replica capture reads within ${this.opts.showTimeoutMs ?? 5_000} ms: the replica ${where}. Capture ` +
        `retries while running (at start it stops); point REDIS_REPLICA_URL at a replica of the primary in ` +
        `REDIS_URL (or use Sentinel).`,
    );
  }
}
