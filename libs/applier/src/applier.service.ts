import {
  Inject,
  Injectable,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
  Optional,
} from '@nestjs/common';
import { CdcConfig } from '@cdc/config';
import { ChangeEventCodec } from '@cdc/contracts';
import { ConditionalWriter, createDynamoClient, ensureTable } from '@cdc/dynamo';
import { BatchConsumer, createKafka, ensureChangeTopics, orderedProducer, type Producer } from '@cdc/kafka';
import {
  HealthRegistry,
  LOGGER,
  type Logger,
  Metrics,
  RecentSamples,
  settlesWithin,
  stageStopMs,
} from '@cdc/observability';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { APPLIER_OPTIONS, type ApplierOptions, type ApplierTarget, resolveTarget } from './applier-options';
import { BatchApplier } from './batch-applier';
import { KafkaDeadLetter } from './dead-letter';
import { defaultItemMapper } from './item-mapper';

/**
 * Consumes the changes topic and applies each batch to DynamoDB with the BatchApplier's rules, committing
 * only after all of it is durable (design invariants 2 and 4). A batch that fails for a transient reason
 * pauses its partition and comes back after a backoff; the other partitions carry on.
 */
@Injectable()
export class ApplierService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly codec = new ChangeEventCodec();
  readonly target: ApplierTarget;
  private dynamo: DynamoDBClient | undefined;
  private consumer: BatchConsumer | undefined;
  private dlq: Producer | undefined;
  private applied = 0;
  /** Recent capture->apply lags (ms), for the live status line. */
  readonly recentLagMs = new RecentSamples();
  private running = false;
  private log: Logger;

  constructor(
    private readonly config: CdcConfig,
    private readonly metrics: Metrics,
    private readonly health: HealthRegistry,
    @Inject(LOGGER) logger: Logger,
    @Optional() @Inject(APPLIER_OPTIONS) private readonly options: ApplierOptions = {},
  ) {
    this.target = resolveTarget(config, options);
    this.log = logger.child({ component: 'applier', table: this.target.table });
  }

  get stats(): { applied: number; paused: Array<{ partition: string; error: string }> } {
    return { applied: this.applied, paused: this.consumer?.paused ?? [] };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { kafka: kafkaCfg } = this.config.require('kafka');
    const t = this.target;
    this.dynamo = createDynamoClient(this.config.dynamo);
    const table = await ensureTable(this.dynamo, t.table, t.createTable);
    if (table.created) this.log.info('created table');

    const kafka = createKafka(kafkaCfg, this.log);
    const created = await ensureChangeTopics(kafka, { ...this.config, topic: t.topic, dlqTopic: t.dlqTopic });
    if (created.length) this.log.info({ topics: created }, 'created topics');
    this.dlq = orderedProducer(kafka);
    await this.dlq.connect();
    const applier = new BatchApplier({
      codec: this.codec,
      writer: new ConditionalWriter(this.dynamo),
      table: t.table,
      mapItem: this.options.mapItem ?? defaultItemMapper,
      concurrency: this.config.applierConcurrency,
      signature: this.config.writer,
      tombstoneTtlSeconds: this.config.tombstoneTtlSeconds,
      deadLetter: new KafkaDeadLetter(this.dlq, t.dlqTopic),
      metrics: this.metrics,
      log: this.log,
      onApplied: (lagMs) => {
        this.metrics.applierLag.observe(lagMs / 1000);
        this.recentLagMs.add(lagMs);
      },
    });
    this.consumer = new BatchConsumer(
      kafka.consumer({
        groupId: t.group,
        allowAutoTopicCreation: false,
        // The fetch long-poll bounds how long a disconnect waits (kafkajs default 5 s); data returns at once anyway.
        maxWaitTimeInMs: 1_000,
        // Any crash (e.g. expelled from the group) restarts the consumer: safe, since commits follow durable writes.
        retry: {
          restartOnFailure: (err: Error) => {
            this.log.error(
              { err: err.message },
              'consumer crashed; restarting from the last committed offsets',
            );
            return Promise.resolve(true);
          },
        },
      }),
      {
        onPause: ({ partition, attempt, delayMs, error }) => {
          this.metrics.applierErrors.inc({ code: errorCode(error) });
          this.log.warn(
            { partition, attempt, retryInMs: delayMs, err: error.message },
            'batch failed; partition paused, the same events are retried after the backoff (none skipped)',
          );
        },
        onRecover: (_topic, partition, attempts) =>
          this.log.info({ partition, failedAttempts: attempts }, 'partition recovered'),
      },
    );
    // Every partition's batches at once, sharing the applier's write concurrency (see BatchApplier).
    await this.consumer.start(
      t.topic,
      async (batch) => {
        const report = await applier.apply(batch);
        this.applied += report.applied;
      },
      true,
      this.config.topicPartitions,
    );
    this.running = true;
    this.health.register('applier', () => ({
      up: this.running && (this.consumer?.healthy ?? false),
      detail: this.stats,
    }));
    this.log.info({ topic: t.topic, group: t.group }, 'applier running');
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    // Drains the in-flight batch (and its commit) before leaving the group; with Kafka or DynamoDB gone, not
    // for ever: an uncommitted batch is consumed again by the next member (duplicates are no-ops).
    const budget = stageStopMs(this.config);
    if (!(await settlesWithin(this.consumer?.stop(), budget - 1_000)))
      this.log.warn(
        { waitedMs: budget - 1_000 },
        'the in-flight batch or leaving the group did not finish in time; stopping without them (the events are consumed again)',
      );
    await settlesWithin(this.dlq?.disconnect(), 1_000);
    this.dynamo?.destroy();
  }
}

/** A short label for the errors metric: the SDK's error name (ThrottlingException, ...) or the Kafka one. */
function errorCode(err: Error): string {
  return err.name && err.name !== 'Error' ? err.name : 'BATCH_FAILED';
}
