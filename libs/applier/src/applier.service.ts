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
import { ConsumerLagWatch } from '@cdc/kafka';
import { BatchConsumer, createKafka, ensureChangeTopics, orderedProducer, type Producer } from '@cdc/kafka';
import {
  HealthRegistry,
  LOGGER,
  type Logger,
  Metrics,
  RecentSamples,
  settlesWithin,
  stageBudget,
} from '@cdc/observability';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { APPLIER_OPTIONS, type ApplierOptions, type ApplierTarget, resolveTarget } from './applier-options';
import { BatchApplier } from './batch-applier';
import { KafkaDeadLetter } from './dead-letter';
import { batchFailurePolicy } from './failure-policy';
import { defaultItemMapper } from './item-mapper';

/**
 * Consumes the changes topic and applies each batch to DynamoDB with the BatchApplier's rules, committing
 * only after all of it is durable (design invariants 2 and 4). A failed batch is judged by the failure policy:
 * a transient reason pauses its partition and it comes back after a backoff (the other partitions carry on);
 * a reason only an operator can fix (table gone, access denied, bad credentials) stops consumption, leaves the
 * batch uncommitted, turns /health down and logs the fix until the app is restarted.
 */
@Injectable()
export class ApplierService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly codec = new ChangeEventCodec();
  readonly target: ApplierTarget;
  private dynamo: DynamoDBClient | undefined;
  private consumer: BatchConsumer | undefined;
  private dlq: Producer | undefined;
  /** cdc_applier_consumer_lag: set after each commit and refreshed for every partition on a timer. */
  private lag: ConsumerLagWatch | undefined;
  private applied = 0;
  /** Recent capture->apply lags (ms), for the live status line. */
  readonly recentLagMs = new RecentSamples();
  private running = false;
  private reminder: NodeJS.Timeout | undefined;
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

  get stats(): {
    applied: number;
    paused: Array<{ partition: string; error: string }>;
    stopped?: { partition: string; offset: string; error: string };
  } {
    const stop = this.consumer?.stopped;
    return {
      applied: this.applied,
      paused: this.consumer?.paused ?? [],
      ...(stop
        ? {
            stopped: {
              partition: `${stop.topic}:${stop.partition}`,
              offset: stop.offset,
              error: stop.message,
            },
          }
        : {}),
    };
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
      dlqTopic: t.dlqTopic,
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
    this.lag = new ConsumerLagWatch(kafka.admin(), {
      group: t.group,
      topic: t.topic,
      gauge: this.metrics.applierConsumerLag,
      onError: (err) => this.log.warn({ err: err.message }, 'consumer lag not refreshed; retrying'),
    });
    this.lag.start();
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
        decide: batchFailurePolicy({ table: t.table, dlqTopic: t.dlqTopic }),
        onStop: (stop) => {
          this.metrics.applierErrors.inc({ code: errorCode(stop.error) });
          const log = () =>
            this.log.error(
              { partition: stop.partition, uncommittedFrom: stop.offset, err: stop.error.message },
              `applier stopped: ${stop.message}. Nothing from offset ${stop.offset} of partition ` +
                `${stop.partition} on is committed.`,
            );
          log();
          // Loud until someone acts: the same line every minute, and /health stays down.
          this.reminder = setInterval(log, 60_000);
          this.reminder.unref();
        },
        onPause: ({ partition, attempt, delayMs, error }) => {
          this.metrics.applierErrors.inc({ code: errorCode(error) });
          this.log.warn(
            { partition, attempt, retryInMs: delayMs, err: error.message },
            'batch failed; partition paused, the same events are retried after the backoff (none skipped)',
          );
        },
        onRecover: (_topic, partition, attempts) =>
          this.log.info({ partition, failedAttempts: attempts }, 'partition recovered'),
        onCommitted: (committed) => this.lag?.committed(committed),
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
    clearInterval(this.reminder);
    // Drains the in-flight batch (and its commit) before leaving the group; with Kafka or DynamoDB gone, not
    // for ever: an uncommitted batch is consumed again by the next member (duplicates are no-ops).
    const budget = stageBudget(this.config);
    if (!(await settlesWithin(this.consumer?.stop(), budget.drainMs)))
      this.log.warn(
        { waitedMs: budget.drainMs },
        'the in-flight batch or leaving the group did not finish in time; stopping without them (the events are consumed again)',
      );
    await settlesWithin(this.dlq?.disconnect(), budget.left() / 2);
    await settlesWithin(this.lag?.stop(), budget.left());
    this.dynamo?.destroy();
  }
}

/** A short label for the errors metric: the SDK's error name (ThrottlingException, ...) or the Kafka one. */
function errorCode(err: Error): string {
  return err.name && err.name !== 'Error' ? err.name : 'BATCH_FAILED';
}
