import type { ChangeEventCodec } from '@cdc/contracts';
import type { ConditionalWriter } from '@cdc/dynamo';
import type { Batch, ConsumedMessage } from '@cdc/kafka';
import type { Logger, Metrics } from '@cdc/observability';
import pLimit from 'p-limit';
import type { DeadLetterSink } from './dead-letter';
import { DeadLetterError, decideFailure } from './failure-policy';
import { type ItemMapper, mapEvent } from './item-mapper';
import { planBatch, type PoisonMessage } from './plan-batch';

export interface BatchApplierOptions {
  readonly codec: ChangeEventCodec;
  readonly writer: ConditionalWriter;
  readonly table: string;
  /** Named when the DLQ cannot be written (failure policy). */
  readonly dlqTopic?: string;
  readonly mapItem: ItemMapper;
  /** Writes in flight across keys and concurrent batches (a key is written once per batch: its latest version). */
  readonly concurrency: number;
  /** The replicator's signature and tombstone lifetime, handed to the mapper. */
  readonly signature: string;
  readonly tombstoneTtlSeconds: number;
  readonly deadLetter: DeadLetterSink;
  readonly metrics: Metrics;
  readonly log: Logger;
  /** Awaited before each DynamoDB write (a replay's --rate). */
  readonly beforeWrite?: () => Promise<void>;
  /** Told the capture->apply lag of each applied event. */
  readonly onApplied?: (lagMs: number) => void;
  /** Which messages of a batch to consider (a replay stops at the end offsets it started with). */
  readonly accept?: (message: ConsumedMessage) => boolean;
}

/** What one batch did; a replay sums these into its closing report. */
export interface ApplyReport {
  applied: number;
  stale: number;
  duplicate: number;
  /** Superseded inside the batch by a higher version of the same key: no write needed. */
  coalesced: number;
  /** Left out of this table by the mapping (mapItem returned null). */
  filtered: number;
  kafkaTombstones: number;
  deadLettered: number;
}

export function emptyReport(): ApplyReport {
  return {
    applied: 0,
    stale: 0,
    duplicate: 0,
    coalesced: 0,
    filtered: 0,
    kafkaTombstones: 0,
    deadLettered: 0,
  };
}

export function addReports(into: ApplyReport, r: ApplyReport): ApplyReport {
  for (const k of Object.keys(into) as Array<keyof ApplyReport>) into[k] += r[k];
  return into;
}

/**
 * The apply rules for one fetched batch (design invariants 2-4), shared by the live applier, a replay and
 * any consumer app built on ApplierModule: highest version per key, version-conditioned writes with bounded
 * concurrency across keys, permanent failures to the DLQ. It resolves only when every write (and DLQ record)
 * is durable. Every error is judged by the failure policy (decideFailure): an event that can never apply goes
 * to the DLQ; anything else is thrown, and the consumer asks the same policy whether to retry the whole batch
 * later (re-applying what already landed is a counted no-op) or stop until an operator acts.
 */
export class BatchApplier {
  /**
   * One limit for every batch in flight: partitions are consumed concurrently, and the writes of all their
   * batches share `concurrency`, so the tail of one batch never leaves DynamoDB idle while another waits.
   */
  private readonly limit: ReturnType<typeof pLimit>;

  constructor(private readonly opts: BatchApplierOptions) {
    this.limit = pLimit(opts.concurrency);
  }

  async apply(batch: Batch): Promise<ApplyReport> {
    const o = this.opts;
    const end = o.metrics.applierBatchSeconds.startTimer();
    const messages = o.accept ? batch.messages.filter(o.accept) : batch.messages;
    const context = { table: o.table, ...(o.dlqTopic ? { dlqTopic: o.dlqTopic } : {}) };
    const plan = planBatch(messages, o.codec);
    const limit = this.limit;
    const rejected: PoisonMessage[] = [];
    const outcomes = await Promise.all(
      plan.writes.map(({ event, message }) =>
        limit(async () => {
          const appliedAt = Date.now();
          let item;
          try {
            item = mapEvent(o.mapItem, event, {
              writer: o.signature,
              appliedAt,
              tombstoneTtlSeconds: o.tombstoneTtlSeconds,
            });
          } catch (err) {
            const decision = decideFailure(err, { ...context, stage: 'map' });
            if (decision.action !== 'dlq') throw err;
            rejected.push({ message, code: decision.code, reason: decision.reason });
            return 'rejected' as const;
          }
          if (item === null) return 'filtered' as const;
          await o.beforeWrite?.();
          let outcome: Awaited<ReturnType<ConditionalWriter['putIfNewer']>>;
          try {
            outcome = await o.writer.putIfNewer(o.table, item);
          } catch (err) {
            // DynamoDB will never take this item (too large, invalid number, ...): DLQ, move on. Anything else
            // (throttling after the SDK's adaptive retries, 5xx, network, the table gone) fails the batch.
            const decision = decideFailure(err, { ...context, stage: 'write' });
            if (decision.action === 'stale') return 'stale' as const;
            if (decision.action !== 'dlq') throw err;
            rejected.push({ message, code: decision.code, reason: decision.reason });
            return 'rejected' as const;
          }
          // A long batch must keep the group membership alive (kafkajs heartbeats only between batches
          // otherwise). No-op until the heartbeat interval is due.
          await batch.heartbeat();
          if (outcome === 'applied') o.onApplied?.(Math.max(0, appliedAt - event.capturedAt));
          return outcome;
        }),
      ),
    );
    const poison = [...plan.poison, ...rejected];
    if (poison.length > 0) {
      // Never dropped for want of a DLQ: the failure policy retries the batch (or stops on missing ACLs).
      await o.deadLetter.send(batch.topic, poison).catch((err: unknown) => {
        throw new DeadLetterError(o.dlqTopic, err);
      });
      for (const p of poison) {
        o.metrics.applierErrors.inc({ code: p.code });
        o.log.warn(
          { code: p.code, reason: p.reason, partition: p.message.partition, offset: p.message.offset },
          'poison event sent to the DLQ',
        );
      }
    }
    const report = emptyReport();
    for (const outcome of outcomes) if (outcome !== 'rejected') report[outcome]++;
    report.coalesced = plan.coalesced;
    report.kafkaTombstones = plan.kafkaTombstones;
    report.deadLettered = poison.length;
    const m = o.metrics.applierEvents;
    for (const outcome of ['applied', 'stale', 'duplicate', 'coalesced', 'filtered'] as const)
      if (report[outcome] > 0) m.inc({ outcome }, report[outcome]);
    if (report.kafkaTombstones > 0) m.inc({ outcome: 'kafka_tombstone' }, report.kafkaTombstones);
    if (report.deadLettered > 0) m.inc({ outcome: 'rejected' }, report.deadLettered);
    end();
    return report;
  }
}
