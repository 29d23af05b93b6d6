import type { Logger } from '@cdc/observability';
import type { RedisSource } from '@cdc/redis';
import type { GapMonitor } from './gap-monitor';
import { type ReaderChange, ReplicaWatcher } from './replica-watch';

export interface ReaderFollowerOptions {
  readonly intervalMs: number;
  readonly lostAfterMs: number;
  /** Subscribes again on the (new) reader node. */
  readonly resubscribe: () => Promise<void>;
}

/**
 * Replica mode's answer to what the replica does (replica-watch.ts). A restart, a full resync or a new history
 * is a gap, healed by the reconciliation scan (the epoch rule, in the versioned read, keeps versions ordered
 * across the new history). A promotion or a lost replica is a gap too, and capture moves to another replica of
 * the primary when one can be found (from Sentinel, or from the primary's INFO when no REDIS_REPLICA_URL pins
 * one); otherwise it says what to do, and keeps trying.
 */
export class ReaderFollower {
  private readonly watcher: ReplicaWatcher;
  private moving: Promise<void> | undefined;
  private lastStuckLog = 0;

  constructor(
    private readonly source: RedisSource,
    private readonly monitor: GapMonitor,
    private readonly log: Logger,
    private readonly opts: ReaderFollowerOptions,
  ) {
    this.watcher = new ReplicaWatcher(() => source.reader, {
      intervalMs: opts.intervalMs,
      lostAfterMs: opts.lostAfterMs,
      onChange: (change, detail) => this.changed(change, detail),
      // Promoted, and no other replica was ready yet: keep looking (reads stay correct meanwhile, on a primary).
      onSample: (sample) => {
        if (sample.role === 'master') this.move('promoted');
      },
      onLost: (silentMs, err, first) => {
        if (first)
          this.monitor.report('replica-lost', { reader: source.readerNode, silentMs, err: err.message });
        this.move('lost');
      },
    });
  }

  async start(): Promise<void> {
    await this.watcher.start();
  }

  stop(): void {
    this.watcher.stop();
  }

  private changed(change: ReaderChange, detail: Record<string, unknown>): void {
    const reader = this.source.readerNode;
    if (change === 'promoted') {
      this.monitor.report('failover', { reader, ...detail });
      this.move('promoted');
      return;
    }
    this.monitor.report(change, { reader, ...detail });
  }

  /** Moves reads and the subscriber to another replica, once at a time. */
  private move(why: 'lost' | 'promoted'): void {
    this.moving ??= this.tryMove(why).finally(() => (this.moving = undefined));
  }

  private async tryMove(why: 'lost' | 'promoted'): Promise<void> {
    const from = this.source.readerNode;
    let to: Awaited<ReturnType<RedisSource['findReplica']>>;
    try {
      to = await this.source.findReplica();
    } catch (err) {
      this.sayStuck(why, { err: (err as Error).message });
      return;
    }
    if (to === null) {
      this.sayStuck(why, {});
      return;
    }
    try {
      await this.source.moveReader(to);
      await this.opts.resubscribe();
      await this.monitor.resetBaseline();
      await this.watcher.reset();
      this.monitor.report('failover', { from, to: this.source.readerNode, why });
      this.log.warn({ from, to: this.source.readerNode, why }, 'capture moved to another replica');
    } catch (err) {
      this.log.error(
        { from, err: (err as Error).message },
        'could not move capture to another replica; will retry',
      );
    }
  }

  /** Said once per lost-timeout period, not on every retry. */
  private sayStuck(why: 'lost' | 'promoted', detail: Record<string, unknown>): void {
    if (Date.now() - this.lastStuckLog < this.opts.lostAfterMs) return;
    this.lastStuckLog = Date.now();
    this.log.error({ reader: this.source.readerNode, ...detail }, this.stuck(why));
  }

  private stuck(why: 'lost' | 'promoted'): string {
    const what =
      why === 'lost'
        ? `the replica capture reads (${this.source.readerNode}) does not answer`
        : `the replica capture reads (${this.source.readerNode}) was promoted to primary`;
    const pinned = this.source.cfg.replicaUrl
      ? 'REDIS_REPLICA_URL pins it'
      : this.source.cfg.sentinel
        ? 'Sentinel names no other healthy replica yet'
        : 'the primary lists no other online replica';
    return (
      `${what}, and capture cannot move (${pinned}). A gap is recorded; it is healed by a rescan once capture ` +
      `reads again. Fix: bring a replica of the primary back, or point REDIS_URL / REDIS_REPLICA_URL at the ` +
      `new topology (REDIS_SENTINELS lets capture follow failovers by itself).`
    );
  }
}
