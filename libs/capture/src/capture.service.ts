import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CdcConfig } from '@cdc/config';
import { BatchPublisher, createKafka, ensureChangeTopics, orderedProducer, type Producer } from '@cdc/kafka';
import { HealthRegistry, LOGGER, type Logger, Metrics } from '@cdc/observability';
import { createRedisClient, ensureNotifications, KeyeventSubscriber, VersionedReader } from '@cdc/redis';
import type Redis from 'ioredis';
import { CapturePipeline } from './capture-pipeline';

/** Wires the capture pipeline to real connections and owns their lifecycle. */
@Injectable()
export class CaptureService implements OnApplicationBootstrap, OnApplicationShutdown {
  private redis: Redis | undefined;
  private subscriber: KeyeventSubscriber | undefined;
  private producer: Producer | undefined;
  private pipeline: CapturePipeline | undefined;
  private subscribed = false;

  constructor(
    private readonly config: CdcConfig,
    private readonly metrics: Metrics,
    private readonly health: HealthRegistry,
    @Inject(LOGGER) private readonly logger: Logger,
  ) {}

  get stats(): { produced: number; pending: number } {
    return { produced: this.pipeline?.producedCount ?? 0, pending: this.pipeline?.pendingCount ?? 0 };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { redis: redisCfg, kafka: kafkaCfg } = this.config.require('redis', 'kafka');
    const log = this.logger.child({ component: 'capture' });
    const onRedisError = (err: Error) =>
      log.warn({ err: err.message }, 'redis connection error; reconnecting');
    this.redis = createRedisClient(redisCfg, 'cdc-capture', {}, onRedisError);
    await this.redis.connect();
    const flags = await ensureNotifications(this.redis);
    log.info({ notifyKeyspaceEvents: flags }, 'keyspace notifications enabled');

    const kafka = createKafka(kafkaCfg, log);
    const created = await ensureChangeTopics(kafka, this.config);
    if (created.length) log.info({ topics: created }, 'created topics');

    this.producer = orderedProducer(kafka);
    await this.producer.connect();
    this.pipeline = new CapturePipeline(
      new VersionedReader(this.redis),
      new BatchPublisher(this.producer, this.config.topic),
      { sourceId: this.config.sourceId, db: redisCfg.db, batchSize: this.config.captureBatchSize },
      this.metrics,
      log,
    );
    this.pipeline.start();

    const pipeline = this.pipeline;
    this.subscriber = new KeyeventSubscriber(
      createRedisClient(redisCfg, 'cdc-capture-sub', {}, onRedisError),
      redisCfg.db,
    );
    await this.subscriber.start(
      (event, key) => pipeline.notify(event, key),
      (count) => {
        this.subscribed = true;
        if (count > 1)
          log.warn({ cause: 'reconnect' }, 'subscriber resubscribed: notifications may have been missed');
      },
    );
    this.health.register('capture', () => ({ up: this.subscribed, detail: this.stats }));
    log.info({ topic: this.config.topic, db: redisCfg.db }, 'capture running');
  }

  /** Re-captures keys through the log (snapshot, repair): same read, fresh versions, same topic. */
  async recapture(keys: readonly Buffer[], origin: 'snapshot' | 'repair'): Promise<number> {
    if (!this.pipeline) throw new Error('capture is not running');
    return this.pipeline.capture(keys, origin);
  }

  async onApplicationShutdown(): Promise<void> {
    this.subscribed = false;
    await this.subscriber?.stop();
    await this.pipeline?.stop();
    await this.producer?.disconnect();
    this.redis?.disconnect();
  }
}
