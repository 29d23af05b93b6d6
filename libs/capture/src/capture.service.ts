import { randomBytes } from 'node:crypto';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CdcConfig, type KafkaConfig, type RedisConfig } from '@cdc/config';
import { createKafka, ensureChangeTopics, orderedProducer, type Producer } from '@cdc/kafka';
import { HealthRegistry, LOGGER, type Logger, Metrics, settlesWithin, stageBudget } from '@cdc/observability';
import {
  ensureNotifications,
  formatSlots,
  isClusterSource,
  KeyeventSubscriber,
  NotificationsOffError,
  RedisSource,
} from '@cdc/redis';
import { CapturePipeline } from './capture-pipeline';
import { ClusterCapture } from './cluster-capture';
import { RedisCheckpointStore } from './checkpoints';
import { type GapCause, GapMonitor } from './gap-monitor';
import { KeyspaceScanner } from './keyspace-scanner';
import { NotificationProbe } from './notification-probe';
import { healReporting, Reconciler } from './reconciler';
import { ReaderFollower } from './reader-follower';

/** Gaps after which the node capture reads may have lost its notify-keyspace-events (a restart, a new node). */
const NOTIFICATIONS_AT_RISK: ReadonlySet<GapCause> = new Set([
  'heartbeat-timeout',
  'reconnect',
  'replica-restart',
  'failover',
]);

/**
 * Wires capture to real connections and owns their lifecycle: the keyevent subscriber feeds the pipeline,
 * the gap monitor watches for lost notifications, and the reconciler heals each gap with a rescan. In replica
 * mode (REDIS_READ_FROM=replica) the subscriber, the reads and the scans run on a replica, the primary only
 * receives capture's heartbeat and epoch marker, and the reader follower handles what a replica can do.
 */
@Injectable()
export class CaptureService implements OnApplicationBootstrap, OnApplicationShutdown {
  private source: RedisSource | undefined;
  private subscriber: KeyeventSubscriber | undefined;
  private producer: Producer | undefined;
  private pipeline: CapturePipeline | undefined;
  private monitor: GapMonitor | undefined;
  private reconciler: Reconciler | undefined;
  private follower: ReaderFollower | undefined;
  private resubscribe: (() => Promise<void>) | undefined;
  private subscribed = false;
  private readonly gaps: Array<{ cause: GapCause; at: number; slots?: readonly number[] }> = [];
  private cluster: ClusterCapture | undefined;
  private readonly log: Logger;
  /** Unique per process, so the gap monitor finds OUR subscriber in CLIENT LIST among other captures'. */
  private readonly subscriberName = `cdc-capture-sub-${randomBytes(3).toString('hex')}`;

  constructor(
    private readonly config: CdcConfig,
    private readonly metrics: Metrics,
    private readonly health: HealthRegistry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'capture' });
    metrics.sample(metrics.capturePendingKeys, () => this.stats.pending);
  }

  get stats(): { produced: number; pending: number; reconciling: boolean; gaps: number } {
    const c = this.cluster;
    return {
      produced: c ? c.produced : (this.pipeline?.producedCount ?? 0),
      pending: c ? c.pending : (this.pipeline?.pendingCount ?? 0),
      reconciling: c ? c.reconciling : (this.reconciler?.active ?? false),
      gaps: this.gaps.length,
    };
  }

  /** Gaps detected since start (newest last; a cluster gap names its slots), for status reports and tests. */
  get detectedGaps(): ReadonlyArray<{ cause: GapCause; at: number; slots?: readonly number[] }> {
    return this.gaps;
  }

  /**
   * Re-captures `keys` through this capture's own pipeline (origin=repair): the verifier's two-sided scan uses
   * it to fix what no Redis scan finds (keys that exist only in the table, e.g. created by writes a failover lost).
   */
  async repair(keys: Buffer[]): Promise<number> {
    if (this.cluster) return this.cluster.repair(keys);
    if (!this.pipeline) throw new Error('capture is not running: nothing can re-capture keys');
    return this.pipeline.capture(keys, 'repair');
  }

  /** Where capture reads now (host:port; one per shard in a cluster), for status reports and tests. */
  get readerNode(): string | undefined {
    return this.cluster ? this.cluster.readerNodes.join(',') : this.source?.readerNode;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { redis: redisCfg, kafka: kafkaCfg } = this.config.require('redis', 'kafka');
    const log = this.log;
    const onRedisError = (err: Error) =>
      log.warn({ err: err.message }, 'redis connection error; reconnecting');
    if (await isClusterSource(redisCfg)) return this.startCluster(redisCfg, kafkaCfg);
    const source = await RedisSource.open(redisCfg, 'cdc-capture', {
      onError: onRedisError,
      epochs: {
        onRaise: (epoch, problem) => {
          this.metrics.captureEpoch.set(Number(epoch / 1000n)); // ms since 1970: a gauge cannot hold µs exactly
          log.info({ epoch: epoch.toString(), problem }, 'epoch raised');
        },
        onConflict: (marker) =>
          log.error(
            { marker, mode: redisCfg.readFrom },
            `another capture of this database (source "${this.config.sourceId}" or another source on the same ` +
              `Redis db) versions in the other mode: every capture of a database must use the same ` +
              `REDIS_READ_FROM (versions stay ordered, but each switch stalls capture)`,
          ),
      },
    });
    this.source = source;
    // Where CONFIG is not allowed (managed Redis) the setting cannot be read: prove it by a probe instead.
    const uncheckable = await this.enableNotifications();
    const probe = new NotificationProbe(source.mode);

    const producer = await this.connectProducer(kafkaCfg);

    // A fresh epoch for this process, shown on the reader before anything is versioned: a replica that does
    // not replicate the primary in REDIS_URL fails here, naming both.
    await source.epochs.start();
    const pipeline = CapturePipeline.fromConfig(
      this.config,
      source.versionedReader(),
      redisCfg.db,
      producer,
      this.metrics,
      log,
    );
    this.pipeline = pipeline;
    pipeline.start();

    const checkpoints = new RedisCheckpointStore(source.control, `reconcile:${this.config.sourceId}`);
    const scanner = new KeyspaceScanner(
      () => source.reader,
      (keys) => pipeline.capture(keys, 'repair', 'reconcile'),
      checkpoints,
    );
    const reconciler = new Reconciler(scanner, checkpoints, log, {
      rate: this.config.reconcileRate,
      ...healReporting(this.metrics, log, (result) => this.monitor?.healed(result)),
    });
    this.reconciler = reconciler;
    const monitor = new GapMonitor(
      { control: () => source.control, reader: () => source.reader },
      {
        sourceId: this.config.sourceId,
        subscriberName: this.subscriberName,
        intervalMs: this.config.heartbeatIntervalMs,
        timeoutMs: this.config.heartbeatTimeoutMs,
        onGap: (cause, detail) => this.onGap(cause, detail),
        onOutputBuffer: (bytes) => this.metrics.captureSubscriberBuffer.set(bytes),
        // Not on the node capture reads (a reader endpoint that moved it, a lost connection): subscribe again.
        onSubscriberMissing: () => {
          void this.resubscribe?.().catch((err: Error) =>
            log.error({ err: err.message }, 'could not subscribe again; retrying at the next heartbeat'),
          );
        },
      },
    );
    this.monitor = monitor;

    const onEvent = (event: string, key: Buffer) => {
      if (!monitor.isHeartbeat(event, key) && !probe.observe(event, key)) pipeline.notify(event, key);
    };
    // The new subscriber is listening before the old one stops: never a moment without one (duplicates coalesce).
    const subscribe = async () => {
      const next = new KeyeventSubscriber(
        source.readerClient(this.subscriberName),
        redisCfg.db,
        this.config.captureNotifyPauseMs,
      );
      await next.start(onEvent, (count) => {
        this.subscribed = true;
        void monitor.onSubscribed(count);
      });
      const previous = this.subscriber;
      this.subscriber = next;
      await previous?.stop();
    };
    const resubscribe = async () => {
      await this.enableNotifications();
      await subscribe();
    };
    if (source.mode === 'replica') {
      // Its baseline before subscribing: a resync in between is then a change it reports, not its baseline.
      this.follower = new ReaderFollower(source, monitor, log, {
        intervalMs: this.config.heartbeatIntervalMs,
        lostAfterMs: this.config.heartbeatTimeoutMs,
        resubscribe,
      });
      await this.follower.start();
    }
    this.resubscribe = resubscribe;
    await subscribe();
    if (uncheckable) {
      const missing = await probe.run(source.control, this.config.heartbeatTimeoutMs);
      if (missing.length > 0) {
        throw new Error(`${uncheckable.message} A probe saw no notification for: ${missing.join(', ')}.`);
      }
      log.info('CONFIG is not available; keyspace notifications verified by a probe of every event class');
    }
    // After subscribing: whatever changed before this point is covered by the downtime check's rescan.
    await monitor.start();
    await reconciler.resumeIfInterrupted();
    this.health.register('capture', () => ({ up: this.subscribed, detail: this.stats }));
    log.info(
      { topic: this.config.topic, db: redisCfg.db, readFrom: source.mode, reader: source.readerNode },
      'capture running',
    );
  }

  /** Notifications on the node capture subscribes to; an error that cannot be probed is returned for the probe. */
  private async enableNotifications(): Promise<NotificationsOffError | undefined> {
    try {
      this.log.info(
        { notifyKeyspaceEvents: await ensureNotifications((this.source as RedisSource).reader) },
        'keyspace notifications enabled',
      );
      return undefined;
    } catch (err) {
      if (!(err instanceof NotificationsOffError) || err.checkable) throw err;
      return err;
    }
  }

  /** The change topics (created if missing) and the ordered producer both capture modes send with. */
  private async connectProducer(kafkaCfg: KafkaConfig): Promise<Producer> {
    const kafka = createKafka(kafkaCfg, this.log);
    const created = await ensureChangeTopics(kafka, this.config);
    if (created.length) this.log.info({ topics: created }, 'created topics');
    const producer = orderedProducer(kafka);
    this.producer = producer;
    await producer.connect();
    return producer;
  }

  /** Redis Cluster: the same pipeline and gap handling per shard (cluster-capture.ts). */
  private async startCluster(redisCfg: RedisConfig, kafkaCfg: KafkaConfig): Promise<void> {
    const producer = await this.connectProducer(kafkaCfg);
    this.cluster = new ClusterCapture(this.config, redisCfg, producer, this.metrics, this.log, {
      onGap: (cause, detail) => this.onGap(cause, detail),
      onSubscribed: () => (this.subscribed = true),
    });
    await this.cluster.start();
    this.health.register('capture', () => ({ up: this.subscribed, detail: this.stats }));
  }

  private onGap(cause: GapCause, detail: Record<string, unknown>): void {
    const slots = Array.isArray(detail.slots) ? (detail.slots as number[]) : undefined;
    this.gaps.push({ cause, at: Date.now(), ...(slots ? { slots } : {}) });
    this.metrics.captureGaps.inc({ cause });
    this.log.warn(
      { cause, ...detail, ...(slots ? { slots: formatSlots(slots) } : {}) },
      `notification gap detected (${cause}): reconciling ${slots ? 'the keys of its slots' : 'existing keys'}`,
    );
    this.metrics.captureReconcileRunning.set(1);
    if (this.cluster) return this.cluster.heal(cause, slots);
    // A silent heartbeat may mean someone turned notifications off, and a restarted node forgets a CONFIG SET:
    // put them back (or say exactly what to set) before the rescan, so no key changes unseen behind it.
    const source = this.source;
    const restore =
      source && NOTIFICATIONS_AT_RISK.has(cause)
        ? ensureNotifications(source.reader).then(
            () => undefined,
            (err: Error) =>
              this.log.error({ err: err.message }, 'keyspace notifications are off and cannot be re-enabled'),
          )
        : Promise.resolve();
    void restore.then(() => this.reconciler?.request(cause));
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscribed = false;
    this.monitor?.stop();
    // Drain what is pending, but not forever: with Redis or Kafka gone, commands wait for a reconnect
    // indefinitely. Past this stage's share of the deadline the connections are dropped; the unproduced keys
    // are rescanned at the next start (its downtime check sees the alive marker's age), so nothing is lost.
    const graceful = (async () => {
      await this.follower?.stop();
      await this.cluster?.stop();
      await this.reconciler?.stop();
      await this.subscriber?.stop();
      await this.pipeline?.stop();
    })();
    const budget = stageBudget(this.config);
    if (!(await settlesWithin(graceful, budget.drainMs)))
      this.log.warn(
        { pending: this.stats.pending, waitedMs: budget.drainMs },
        'shutdown: pending reads not produced in time; dropping them (the next start rescans)',
      );
    this.subscriber?.disconnect();
    this.source?.close();
    this.cluster?.close();
    // Whatever still waits on a dropped connection settles now; a stuck wait must not hold the exit.
    await settlesWithin(graceful, budget.left() / 2);
    await settlesWithin(this.producer?.disconnect(), budget.left());
  }
}
