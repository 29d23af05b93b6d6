import { randomBytes } from 'node:crypto';
import { setTimeout as delay } from 'node:timers/promises';
import type { CdcConfig, RedisConfig } from '@cdc/config';
import type { Producer } from '@cdc/kafka';
import type { Logger, Metrics } from '@cdc/observability';
import {
  type ClusterShard,
  ClusterSource,
  type ClusterTopology,
  ClusterVersionedReader,
  createClusterClient,
  createNodeClient,
  ensureNotifications,
  formatNode,
  isTopologyError,
  KeyeventSubscriber,
  shardOf,
  slotTag,
  topologyChange,
} from '@cdc/redis';
import type { Cluster } from 'ioredis';
import type Redis from 'ioredis';
import { CapturePipeline } from './capture-pipeline';
import { RedisCheckpointStore } from './checkpoints';
import { type GapCause, GapMonitor } from './gap-monitor';
import { KeyspaceScanner } from './keyspace-scanner';
import { healReporting, Reconciler, type ScanScope } from './reconciler';

/** Every slot a shard serves, ascending. */
export function slotsOf(shard: ClusterShard): number[] {
  const out: number[] = [];
  for (const [a, b] of shard.ranges) for (let s = a; s <= b; s++) out.push(s);
  return out;
}

interface ShardWatch {
  shard: ClusterShard;
  readonly node: string;
  /** The slot the shard's heartbeat key hashes to: it must stay in the shard, or the beat proves another one. */
  readonly heartbeatSlot: number;
  readonly monitor: GapMonitor;
  readonly subscriber: KeyeventSubscriber;
}

export interface ClusterCaptureHooks {
  /** A gap, with the slots it covers: counted, logged and recorded by the service. */
  readonly onGap: (cause: GapCause, detail: Record<string, unknown>) => void;
  readonly onSubscribed: () => void;
}

/**
 * Capture on a Redis Cluster: one keyevent subscriber and one gap monitor per shard, on the node that shard is
 * read on (REDIS_READ_FROM), one pipeline whose reads go to whichever node serves each key's slot, and a
 * follower that reads the shards again every heartbeat. When slots change owner (a failover, a reshard, a shard
 * added or removed), it subscribes where they are served now, records a gap for exactly those slots, and
 * rescans only them; each shard's own gaps (reconnect, heartbeat, FLUSHALL) name and rescan its slots only.
 */
export class ClusterCapture {
  private source: ClusterSource | undefined;
  private control: Cluster | undefined;
  private pipeline: CapturePipeline | undefined;
  private reconciler: Reconciler | undefined;
  private readonly watches = new Map<string, ShardWatch>();
  private readonly heartbeats = new Map<string, GapMonitor>();
  private timer: NodeJS.Timeout | undefined;
  private following: Promise<void> | undefined;
  private stableSince = Date.now();
  private seen: ClusterTopology | undefined;

  constructor(
    private readonly config: CdcConfig,
    private readonly redisCfg: RedisConfig,
    private readonly producer: Producer,
    private readonly metrics: Metrics,
    private readonly log: Logger,
    private readonly hooks: ClusterCaptureHooks,
  ) {}

  /** Re-captures `keys` (origin=repair), each read on the shard that serves its slot. */
  async repair(keys: Buffer[]): Promise<number> {
    if (!this.pipeline) throw new Error('cluster capture is not running: nothing can re-capture keys');
    return this.pipeline.capture(keys, 'repair');
  }

  get produced(): number {
    return this.pipeline?.producedCount ?? 0;
  }

  get pending(): number {
    return this.pipeline?.pendingCount ?? 0;
  }

  get reconciling(): boolean {
    return this.reconciler?.active ?? false;
  }

  /** host:port of the node each shard is read on, in slot order. */
  get readerNodes(): string[] {
    return [...this.watches.values()].map((w) => w.node);
  }

  async start(): Promise<void> {
    const onError = (err: Error) =>
      this.log.warn({ err: err.message }, 'redis connection error; reconnecting');
    const source = await ClusterSource.open(this.redisCfg, 'cdc-capture', { onError });
    this.source = source;
    this.control = createClusterClient(this.redisCfg, 'cdc-capture-control', onError);
    await this.control.connect();
    const control = this.control;
    const pipeline = CapturePipeline.fromConfig(
      this.config,
      new ClusterVersionedReader(source),
      0,
      this.producer,
      this.metrics,
      this.log,
    );
    this.pipeline = pipeline;
    pipeline.start();
    const checkpoints = new RedisCheckpointStore(control, `reconcile:${this.config.sourceId}`);
    this.reconciler = new Reconciler(
      (scope) =>
        new KeyspaceScanner(
          () => this.readersFor(scope),
          (keys) => pipeline.capture(keys, 'repair', 'reconcile'),
          checkpoints,
        ),
      checkpoints,
      this.log,
      {
        rate: this.config.reconcileRate,
        // One gap record per source: any shard's monitor writes it.
        ...healReporting(this.metrics, this.log, (result) =>
          this.watches.values().next().value?.monitor.healed(result),
        ),
      },
    );
    let first = true;
    this.seen = source.topology;
    for (const shard of source.topology.shards) {
      if (shard.ranges.length === 0) continue;
      await this.watch(shard, first);
      first = false;
    }
    this.timer = setInterval(() => {
      this.following ??= this.follow().finally(() => (this.following = undefined));
    }, this.config.heartbeatIntervalMs);
    await this.reconciler.resumeIfInterrupted();
    this.log.info(
      { shards: this.watches.size, readers: this.readerNodes, readFrom: source.mode },
      'cluster capture running',
    );
  }

  /**
   * A heal of `slots` (or of everything). Notifications are put back first on the nodes read (a restarted node
   * forgets a CONFIG SET), so no key changes unseen behind the rescan.
   */
  heal(cause: GapCause, slots?: readonly number[]): void {
    const scope = slots ? new Set(slots) : null;
    void Promise.all(this.readersFor(scope).map((r) => ensureNotifications(r)))
      .catch((err: Error) =>
        // A node that is down (a failover under way) is the follower's to replace; only a refusal is news.
        isTopologyError(err)
          ? this.log.warn(
              { err: err.message },
              'could not check keyspace notifications: the node is unreachable',
            )
          : this.log.error({ err: err.message }, 'keyspace notifications are off and cannot be re-enabled'),
      )
      .then(() => this.reconciler?.request(cause, undefined, slots));
  }

  /** The reader connections of the shards that serve any slot of `scope` (every shard for null). */
  private readersFor(scope: ScanScope): Redis[] {
    return (this.source as ClusterSource).readerClients(
      (s) => !scope || slotsOf(s).some((slot) => scope.has(slot)),
    );
  }

  /** Subscribes and monitors on the node `shard` is read on. */
  private async watch(shard: ClusterShard, checkDowntime: boolean): Promise<void> {
    const source = this.source as ClusterSource;
    const control = this.control as Cluster;
    const node = source.readerOf(shard);
    const reader = source.readerClient(shard);
    await ensureNotifications(reader);
    const name = `cdc-capture-sub-${randomBytes(3).toString('hex')}`;
    const heartbeatSlot = shard.ranges[0]?.[0] ?? 0;
    const watch: { shard: ClusterShard } = { shard };
    const monitor = new GapMonitor(
      { control: () => control, reader: () => reader },
      {
        sourceId: this.config.sourceId,
        subscriberName: name,
        intervalMs: this.config.heartbeatIntervalMs,
        timeoutMs: this.config.heartbeatTimeoutMs,
        checkDowntime,
        shard: { heartbeatTag: slotTag(heartbeatSlot), slots: () => slotsOf(watch.shard) },
        onGap: (cause, detail) =>
          this.hooks.onGap(cause, { shard: shard.id, node: formatNode(node), ...detail }),
        onOutputBuffer: (bytes) => this.metrics.captureSubscriberBuffer.set(bytes),
      },
    );
    const subscriber = new KeyeventSubscriber(
      createNodeClient(this.redisCfg, node, name, {}, () => undefined),
      0,
      this.config.captureNotifyPauseMs,
    );
    await subscriber.start(
      (event, key) => {
        const hb = this.heartbeats.get(key.toString('latin1'));
        if (hb) hb.isHeartbeat(event, key);
        else this.pipeline?.notify(event, key);
      },
      (count) => {
        this.hooks.onSubscribed();
        void monitor.onSubscribed(count);
      },
    );
    await monitor.start();
    this.log.info(
      { shard: shard.id, node: formatNode(node), slots: slotsOf(shard).length },
      'subscribed on a shard',
    );
    this.heartbeats.set(monitor.heartbeatKey.toString('latin1'), monitor);
    this.watches.set(
      shard.id,
      Object.assign(watch, { node: formatNode(node), heartbeatSlot, monitor, subscriber }),
    );
  }

  private async unwatch(id: string): Promise<void> {
    const w = this.watches.get(id);
    if (!w) return;
    this.watches.delete(id);
    await this.stopWatch(id, w);
  }

  private async stopWatch(id: string, w: ShardWatch): Promise<void> {
    const key = w.monitor.heartbeatKey.toString('latin1');
    if (this.heartbeats.get(key) === w.monitor) this.heartbeats.delete(key);
    w.monitor.stop();
    await w.subscriber.stop();
    this.log.info({ shard: id, node: w.node }, 'unsubscribed from a shard');
  }

  /**
   * Moves a shard's watch: the new subscriber is up before the old one stops. On another node (the one read
   * was lost or promoted, or a better replica is back), what the old one missed is a gap of the shard's slots.
   */
  private async rewatch(old: ShardWatch, shard: ClusterShard): Promise<void> {
    this.watches.delete(shard.id);
    try {
      await this.watch(shard, false);
    } catch (err) {
      this.watches.set(shard.id, old);
      this.log.error(
        { shard: shard.id, err: (err as Error).message },
        'cannot move this shard’s subscriber yet; retrying',
      );
      return;
    }
    await this.stopWatch(shard.id, old);
    const now = this.watches.get(shard.id);
    if (now && now.node !== old.node)
      now.monitor.report(
        'failover',
        { from: old.node, to: now.node, reason: 'capture moved' },
        slotsOf(shard),
      );
  }

  /**
   * Reads the shards again. Slots that changed owner are a gap of exactly those slots since the last stable view
   * (a failover when their shard's primary is new, else a reshard); shards whose reader node changed, or that
   * appeared or emptied, get their subscriber and monitor moved.
   */
  private async follow(): Promise<void> {
    const source = this.source as ClusterSource;
    // Compared with what THIS follower saw last: reads that meet a redirect refresh the same view in between,
    // and their refresh must not swallow the change.
    const before = this.seen ?? source.topology;
    try {
      await source.refresh();
    } catch (err) {
      this.log.warn({ err: (err as Error).message }, 'could not read the cluster topology; retrying');
      return;
    }
    const after = source.topology;
    this.seen = after;
    const change = topologyChange(before, after);
    for (const [id, w] of [...this.watches]) {
      const now = after.shards.find((s) => s.id === id);
      // Emptied or gone: its slots are served elsewhere now (the change below names them).
      if (!now || now.ranges.length === 0) await this.unwatch(id);
      else if (formatNode(source.readerOf(now)) !== w.node || !slotsOf(now).includes(w.heartbeatSlot))
        await this.rewatch(w, now);
      else w.shard = now;
    }
    for (const shard of after.shards) {
      if (shard.ranges.length === 0 || this.watches.has(shard.id)) continue;
      await this.watch(shard, false).catch((err: Error) =>
        this.log.error({ shard: shard.id, err: err.message }, 'cannot subscribe on this shard yet; retrying'),
      );
    }
    if (change.slots.length === 0) {
      this.stableSince = Date.now();
      return;
    }
    // A failover: the slot's new primary was a replica of its old one. (Not the other way round: Redis 7 turns
    // a primary that lost its last slot to a reshard into a replica of the node that took it.)
    const failover = change.slots.filter((slot) => {
      const [was, is] = [shardOf(before, slot), shardOf(after, slot)];
      return !!was && !!is && was.replicas.some((r) => r.id === is.primary.id);
    });
    const moved = change.slots.filter((slot) => !failover.includes(slot));
    const recorder = this.watches.values().next().value;
    for (const [cause, slots] of [
      ['failover', failover],
      ['reshard', moved],
    ] as const) {
      if (slots.length === 0) continue;
      const detail = { sinceMs: Date.now() - this.stableSince, shards: after.shards.length };
      if (recorder) recorder.monitor.report(cause, detail, slots);
      else this.hooks.onGap(cause, { ...detail, slots });
    }
    this.stableSince = Date.now();
  }

  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    await Promise.race([this.following, delay(2_000)]);
    for (const w of this.watches.values()) w.monitor.stop();
    await this.reconciler?.stop();
    await Promise.all([...this.watches.keys()].map((id) => this.unwatch(id)));
    await this.pipeline?.stop();
  }

  /** Drops every connection (after stop, or past the shutdown deadline). */
  close(): void {
    this.source?.close();
    this.control?.disconnect();
  }
}
