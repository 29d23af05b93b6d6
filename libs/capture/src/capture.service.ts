import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CdcConfig } from '@cdc/config';
import { createKafka, ensureChangeTopics, orderedProducer, type Producer } from '@cdc/kafka';
import { HealthRegistry, LOGGER, type Logger, Metrics } from '@cdc/observability';
import {
  createRedisClient,
  ensureNotifications,
  KeyeventSubscriber,
  NotificationsOffError,
} from '@cdc/redis';
import type Redis from 'ioredis';
import { CapturePipeline } from './capture-pipeline';
import { RedisCheckpointStore } from './checkpoints';
import { type GapCause, GapMonitor } from './gap-monitor';
import { KeyspaceScanner } from './keyspace-scanner';
import { NotificationProbe } from './notification-probe';
import { Reconciler } from './reconciler';

const SUBSCRIBER_NAME = 'cdc-capture-sub';
const SHUTDOWN_DEADLINE_MS = 10_000;

/**
 * Wires capture to real connections and owns their lifecycle: the keyevent subscriber feeds the pipeline,
 * the gap monitor watches for lost notifications, and the reconciler heals each gap with a rescan.
 */
@Injectable()
export class CaptureService implements OnApplicationBootstrap, OnApplicationShutdown {
  private redis: Redis | undefined;
  private subscriber: KeyeventSubscriber | undefined;
  private producer: Producer | undefined;
  private pipeline: CapturePipeline | undefined;
  private monitor: GapMonitor | undefined;
  private reconciler: Reconciler | undefined;
  private subscribed = false;
  private readonly gaps: Array<{ cause: GapCause; at: number }> = [];
  private readonly log: Logger;

  constructor(
    private readonly config: CdcConfig,
    private readonly metrics: Metrics,
    private readonly health: HealthRegistry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'capture' });
  }

  get stats(): { produced: number; pending: number; reconciling: boolean; gaps: number } {
    return {
      produced: this.pipeline?.producedCount ?? 0,
      pending: this.pipeline?.pendingCount ?? 0,
      reconciling: this.reconciler?.active ?? false,
      gaps: this.gaps.length,
    };
  }

  /** Gaps detected since start (newest last), for status reports and tests. */
  get detectedGaps(): ReadonlyArray<{ cause: GapCause; at: number }> {
    return this.gaps;
  }

  async onApplicationBootstrap(): Promise<void> {
    const { redis: redisCfg, kafka: kafkaCfg } = this.config.require('redis', 'kafka');
    const log = this.log;
    const onRedisError = (err: Error) =>
      log.warn({ err: err.message }, 'redis connection error; reconnecting');
    this.redis = createRedisClient(redisCfg, 'cdc-capture', {}, onRedisError);
    await this.redis.connect();
    // Where CONFIG is not allowed (managed Redis) the setting cannot be read: prove it by a probe instead.
    let uncheckable: NotificationsOffError | undefined;
    try {
      log.info(
        { notifyKeyspaceEvents: await ensureNotifications(this.redis) },
        'keyspace notifications enabled',
      );
    } catch (err) {
      if (!(err instanceof NotificationsOffError) || err.checkable) throw err;
      uncheckable = err;
    }
    const probe = new NotificationProbe();

    const kafka = createKafka(kafkaCfg, log);
    const created = await ensureChangeTopics(kafka, this.config);
    if (created.length) log.info({ topics: created }, 'created topics');
    this.producer = orderedProducer(kafka);
    await this.producer.connect();

    const pipeline = CapturePipeline.fromConfig(
      this.config,
      this.redis,
      redisCfg.db,
      this.producer,
      this.metrics,
      log,
    );
    this.pipeline = pipeline;
    pipeline.start();

    const checkpoints = new RedisCheckpointStore(this.redis, `reconcile:${this.config.sourceId}`);
    const scanner = new KeyspaceScanner(
      this.redis,
      (keys) => pipeline.capture(keys, 'repair', 'reconcile'),
      checkpoints,
    );
    const reconciler = new Reconciler(scanner, checkpoints, log, {
      rate: this.config.reconcileRate,
      onProgress: (scanned) => this.metrics.captureReconcileScanned.set(scanned),
      onDone: (result) => {
        this.metrics.captureReconcileKeys.inc(result.captured);
        this.metrics.captureReconcileRunning.set(0);
        this.monitor
          ?.healed(result)
          .catch((err: Error) => log.warn({ err: err.message }, 'could not record the healed gap'));
      },
    });
    this.reconciler = reconciler;
    const monitor = new GapMonitor(this.redis, {
      sourceId: this.config.sourceId,
      subscriberName: SUBSCRIBER_NAME,
      intervalMs: this.config.heartbeatIntervalMs,
      timeoutMs: this.config.heartbeatTimeoutMs,
      onGap: (cause, detail) => this.onGap(cause, detail),
      onOutputBuffer: (bytes) => this.metrics.captureSubscriberBuffer.set(bytes),
    });
    this.monitor = monitor;

    this.subscriber = new KeyeventSubscriber(
      createRedisClient(redisCfg, SUBSCRIBER_NAME, {}, onRedisError),
      redisCfg.db,
      this.config.captureNotifyPauseMs,
    );
    await this.subscriber.start(
      (event, key) => {
        if (!monitor.isHeartbeat(event, key) && !probe.observe(event, key)) pipeline.notify(event, key);
      },
      (count) => {
        this.subscribed = true;
        void monitor.onSubscribed(count);
      },
    );
    if (uncheckable) {
      const missing = await probe.run(this.redis, this.config.heartbeatTimeoutMs);
      if (missing.length > 0) {
        throw new Error(`${uncheckable.message} A probe saw no notification for: ${missing.join(', ')}.`);
      }
      log.info('CONFIG is not available; keyspace notifications verified by a probe of every event class');
    }
    // After subscribing: whatever changed before this point is covered by the downtime check's rescan.
    await monitor.start();
    await reconciler.resumeIfInterrupted();
    this.health.register('capture', () => ({ up: this.subscribed, detail: this.stats }));
    log.info({ topic: this.config.topic, db: redisCfg.db }, 'capture running');
  }

  private onGap(cause: GapCause, detail: Record<string, unknown>): void {
    this.gaps.push({ cause, at: Date.now() });
    this.metrics.captureGaps.inc({ cause });
    this.log.warn({ cause, ...detail }, `notification gap detected (${cause}): reconciling existing keys`);
    this.metrics.captureReconcileRunning.set(1);
    this.reconciler?.request(cause);
    // A silent heartbeat may mean someone turned notifications off: put them back (or say exactly what to set).
    if (cause === 'heartbeat-timeout' && this.redis) {
      ensureNotifications(this.redis).catch((err: Error) =>
        this.log.error({ err: err.message }, 'keyspace notifications are off and cannot be re-enabled'),
      );
    }
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscribed = false;
    this.monitor?.stop();
    // Drain what is pending, but not forever: with Redis gone, commands wait for a reconnect indefinitely.
    // Past the deadline the connections are dropped; the unproduced keys are rescanned at the next start
    // (its downtime check sees the alive marker's age), so nothing is lost.
    const graceful = (async () => {
      await this.reconciler?.stop();
      await this.subscriber?.stop();
      await this.pipeline?.stop();
    })();
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<boolean>(
      (resolve) => (timer = setTimeout(() => resolve(false), SHUTDOWN_DEADLINE_MS)),
    );
    const drained = await Promise.race([graceful.then(() => true), deadline]);
    clearTimeout(timer);
    if (!drained)
      this.log.warn({ pending: this.stats.pending }, 'shutdown deadline passed: dropping in-flight reads');
    this.subscriber?.disconnect();
    this.redis?.disconnect();
    await graceful.catch(() => undefined);
    await this.producer?.disconnect();
  }
}
