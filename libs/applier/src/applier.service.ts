import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CdcConfig } from '@cdc/config';
import { ChangeEventCodec } from '@cdc/contracts';
import { ConditionalWriter, createDynamoClient, ensureTable } from '@cdc/dynamo';
import {
  type Batch,
  BatchConsumer,
  createKafka,
  ensureChangeTopics,
  orderedProducer,
  type Producer,
} from '@cdc/kafka';
import { HealthRegistry, LOGGER, type Logger, Metrics, RecentSamples } from '@cdc/observability';
import { eventToItem } from '@cdc/parity';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import pLimit from 'p-limit';
import { planBatch, type PoisonMessage } from './plan-batch';

/**
 * Consumes the changes topic and applies each batch to DynamoDB: highest version per key, version-conditioned
 * writes with bounded concurrency across keys, poison to the DLQ, and the commit only after all of it is
 * durable (design invariants 2 and 4).
 */
@Injectable()
export class ApplierService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly codec = new ChangeEventCodec();
  private dynamo: DynamoDBClient | undefined;
  private writer: ConditionalWriter | undefined;
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
  ) {
    this.log = logger.child({ component: 'applier' });
  }

  get stats(): { applied: number } {
    return { applied: this.applied };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { kafka: kafkaCfg } = this.config.require('kafka');
    this.dynamo = createDynamoClient(this.config.dynamo);
    const table = await ensureTable(this.dynamo, this.config.table, this.config.createTable);
    if (table.created) this.log.info({ table: this.config.table }, 'created table');
    this.writer = new ConditionalWriter(this.dynamo);

    const kafka = createKafka(kafkaCfg, this.log);
    const created = await ensureChangeTopics(kafka, this.config);
    if (created.length) this.log.info({ topics: created }, 'created topics');
    this.dlq = orderedProducer(kafka);
    await this.dlq.connect();
    this.consumer = new BatchConsumer(
      kafka.consumer({
        groupId: this.config.applierGroup,
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
    );
    await this.consumer.start(this.config.topic, (batch) => this.apply(batch));
    this.running = true;
    this.health.register('applier', () => ({
      up: this.running && (this.consumer?.healthy ?? false),
      detail: this.stats,
    }));
    this.log.info(
      { topic: this.config.topic, table: this.config.table, group: this.config.applierGroup },
      'applier running',
    );
  }

  private async apply(batch: Batch): Promise<void> {
    const end = this.metrics.applierBatchSeconds.startTimer();
    const plan = planBatch(batch.messages, this.codec);
    const writer = this.writer as ConditionalWriter;
    const limit = pLimit(this.config.applierConcurrency);
    const rejected: PoisonMessage[] = [];
    const outcomes = await Promise.all(
      plan.writes.map(({ event, message }) =>
        limit(async () => {
          const appliedAt = Date.now();
          const item = eventToItem(event, {
            writer: this.config.writer,
            appliedAt,
            tombstoneTtlSeconds: this.config.tombstoneTtlSeconds,
          });
          let outcome: Awaited<ReturnType<ConditionalWriter['putIfNewer']>>;
          try {
            outcome = await writer.putIfNewer(this.config.table, item);
          } catch (err) {
            // Permanent: DynamoDB will never take this item (too large, invalid number, ...). The DLQ keeps
            // the original bytes and the partition moves on. Anything else (throttling after the SDK's
            // adaptive retries, 5xx, network) fails the batch, which is then retried, never skipped.
            if ((err as Error).name !== 'ValidationException') throw err;
            rejected.push({
              message,
              code: 'ITEM_REJECTED',
              reason: `DynamoDB ValidationException: ${(err as Error).message}`,
            });
            return 'rejected' as const;
          }
          // A long batch must keep the group membership alive (kafkajs heartbeats only between batches
          // otherwise, and expels a member silent past the session timeout). No-op until the interval is due.
          await batch.heartbeat();
          if (outcome === 'applied') {
            const lagMs = Math.max(0, appliedAt - event.capturedAt);
            this.metrics.applierLag.observe(lagMs / 1000);
            this.recentLagMs.add(lagMs);
          }
          return outcome;
        }),
      ),
    );
    const poison = [...plan.poison, ...rejected];
    if (poison.length > 0) await this.deadLetter(poison);
    for (const outcome of outcomes) this.metrics.applierEvents.inc({ outcome });
    this.metrics.applierEvents.inc({ outcome: 'coalesced' }, plan.coalesced);
    this.metrics.applierEvents.inc({ outcome: 'kafka_tombstone' }, plan.kafkaTombstones);
    this.applied += outcomes.filter((o) => o === 'applied').length;
    end();
  }

  /** Original bytes and headers, plus why and where from. If this throws, the batch is not committed. */
  private async deadLetter(poison: readonly PoisonMessage[]): Promise<void> {
    for (const p of poison) {
      this.metrics.applierErrors.inc({ code: p.code });
      this.log.warn(
        { code: p.code, reason: p.reason, partition: p.message.partition, offset: p.message.offset },
        'poison event sent to DLQ',
      );
    }
    await (this.dlq as Producer).send({
      topic: this.config.dlqTopic,
      acks: -1,
      messages: poison.map((p) => ({
        key: p.message.key,
        value: p.message.value,
        headers: {
          ...p.message.headers,
          'cdc-error-code': p.code,
          'cdc-error-reason': p.reason,
          'cdc-source-topic': this.config.topic,
          'cdc-source-partition': String(p.message.partition),
          'cdc-source-offset': p.message.offset,
        },
      })),
    });
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    // Drains the in-flight batch (and its commit) before leaving the group.
    await this.consumer?.stop();
    await this.dlq?.disconnect();
    this.dynamo?.destroy();
  }
}
