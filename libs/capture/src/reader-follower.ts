import { setTimeout as delay } from 'node:timers/promises';
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
  /** Reads moved, but subscribing on the new node failed: retried every sample until it works. */
  private unsubscribed: { from: string; why: 'lost' | 'promoted' } | undefined;
  private stopped = false;

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
        if (this.unsubscribed) this.once(() => this.subscribeHere());
        else if (sample.role === 'master') this.move('promoted');
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

  /** Stops sampling and waits (briefly) for a move in flight, so nothing connects after capture closed. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.watcher.stop();
    await Promise.race([this.moving, delay(2_000)]);
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
    this.once(() => this.tryMove(why));
  }

  private once(work: () => Promise<void>): void {
    if (this.stopped) return;
    this.moving ??= work().finally(() => (this.moving = undefined));
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
      await this.watcher.reset();
    } catch (err) {
      this.log.error(
        { from, err: (err as Error).message },
        'could not move capture to another replica; will retry',
      );
      return;
    }
    this.unsubscribed = { from, why };
    await this.subscribeHere();
  }

  /**
   * Subscribes on the node reads moved to. The failover gap is reported only once notifications flow there, so
   * its rescan covers every write the old subscriber missed; until then it is retried every sample.
   */
  private async subscribeHere(): Promise<void> {
    const moved = this.unsubscribed;
    if (!moved) return;
    try {
      await this.opts.resubscribe();
      await this.monitor.resetBaseline();
    } catch (err) {
      this.log.error(
        { reader: this.source.readerNode, err: (err as Error).message },
        'capture moved its reads but cannot subscribe there yet; retrying every heartbeat',
      );
      return;
    }
    this.unsubscribed = undefined;
    const to = this.source.readerNode;
    this.monitor.report('failover', { from: moved.from, to, why: moved.why });
    this.log.warn({ from: moved.from, to, why: moved.why }, 'capture moved to another replica');
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
