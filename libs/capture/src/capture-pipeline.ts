import { ChangeEventCodec, DLQ_HEADERS as H, type Op, type Origin } from '@cdc/contracts';
import type { CdcConfig } from '@cdc/config';
import { BatchPublisher, type Message, type Producer } from '@cdc/kafka';
import type { Logger, Metrics } from '@cdc/observability';
import { isInternalKey, type KeyReader, type KeyState, notCarried, readGuardBytes } from '@cdc/redis';
import { type PendingKey, PendingKeys } from './pending-keys';
import { deleteEvent, keyStateToEvent, type Rejection } from './to-event';

export interface CaptureSettings {
  readonly sourceId: string;
  readonly db: number;
  readonly batchSize: number;
  /**
   * Kafka's linger.ms, for the whole read-and-produce step: a batch that is not full waits until its oldest
   * key has waited this long. Moderate traffic then costs one script call and one produce request per linger
   * rather than per key (measured at 623 writes/s: the Kafka broker at 0.37 cores without it, 0.11 with 5 ms).
   */
  readonly lingerMs: number;
  /** Encoded events above this go to the DLQ instead (the oversized-value policy). */
  readonly maxEventBytes: number;
}

/** What capture did with one re-captured key: an UPSERT, a DELETE (gone from Redis), or refused (DLQ'd). */
export interface CaptureOutcome {
  readonly key: Buffer;
  readonly outcome: 'produced' | 'deleted' | 'refused';
  readonly version: bigint;
  /** When refused: the DLQ code and reason of the new DLQ record (the key's item is tombstoned). */
  readonly code?: string;
  readonly reason?: string;
}

/**
 * notification -> pending key (coalesced) -> pipelined versioned read -> Avro event -> batched produce.
 * One loop, so reads and produces of a key never overtake each other; a failed batch goes back to pending
 * and is retried with backoff (nothing is dropped).
 */
export class CapturePipeline {
  /** The pipeline as the config describes it: reads with `reader`, events to the topic, rejections to its DLQ. */
  static fromConfig(
    config: CdcConfig,
    reader: KeyReader,
    db: number,
    producer: Producer,
    metrics: Metrics,
    logger: Logger,
  ): CapturePipeline {
    return new CapturePipeline(
      reader,
      new BatchPublisher(producer, config.topic),
      new BatchPublisher(producer, config.dlqTopic),
      {
        sourceId: config.sourceId,
        db,
        batchSize: config.captureBatchSize,
        lingerMs: config.captureLingerMs,
        maxEventBytes: config.maxEventBytes,
      },
      metrics,
      logger,
    );
  }

  private readonly pending = new PendingKeys();
  private readonly codec = new ChangeEventCodec();
  private wake: (() => void) | undefined;
  /** While the loop lingers, notifications only wake it once a full batch is waiting. */
  private lingering = false;
  private running = false;
  private loop: Promise<void> | undefined;
  private produced = 0;
  /** Keys of the batch being read and produced: still pending until Kafka acknowledged them. */
  private taken = 0;
  private readonly notifications = new Map<string, { inc(): void }>();

  constructor(
    private readonly reader: KeyReader,
    private readonly publisher: BatchPublisher,
    /** The changes topic's DLQ: keys capture will not carry, with the reason. */
    private readonly dlq: BatchPublisher,
    private readonly settings: CaptureSettings,
    private readonly metrics: Metrics,
    private readonly logger: Logger,
  ) {}

  /** Events acknowledged by Kafka since start. */
  get producedCount(): number {
    return this.produced;
  }

  /** Keys notified but not yet produced: waiting, or in the batch being read and produced. */
  get pendingCount(): number {
    return this.pending.size + this.taken;
  }

  /** A keyspace notification: a hint that `key` changed. */
  notify(event: string, key: Buffer): void {
    if (isInternalKey(key)) return; // our own version counters
    let counter = this.notifications.get(event);
    if (!counter) {
      // One labelled child per event name, bound once: a label lookup per notification showed in profiles.
      counter = this.metrics.captureNotifications.labels(event);
      this.notifications.set(event, counter);
    }
    counter.inc();
    if (!this.pending.add(key, event, performance.now())) this.metrics.captureCoalesced.inc();
    if (!this.lingering || this.pending.size >= this.settings.batchSize) this.wake?.();
  }

  /** Re-capture keys outside the notification path (snapshot, repair, gap healing). */
  async capture(keys: readonly Buffer[], origin: Origin, event: string = origin): Promise<number> {
    return (await this.recapture(keys, origin, event)).produced;
  }

  /** capture(), saying per key what became of it (`cdc dlq redrive` reports each key). */
  async recapture(
    keys: readonly Buffer[],
    origin: Origin,
    event: string = origin,
  ): Promise<{ produced: number; outcomes: CaptureOutcome[] }> {
    const now = performance.now();
    return this.process(
      keys.map((key) => ({ key, event, since: now })),
      origin,
    );
  }

  start(): void {
    this.running = true;
    this.loop = this.run();
  }

  /** Stops taking notifications' work after draining what is pending. */
  async stop(): Promise<void> {
    this.running = false;
    this.wake?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let backoffMs = 100;
    while (this.running || this.pending.size > 0) {
      if (this.pending.size === 0) {
        await new Promise<void>((resolve) => (this.wake = resolve));
        this.wake = undefined;
        continue;
      }
      await this.linger();
      const batch = this.pending.take(this.settings.batchSize);
      this.taken = batch.length;
      try {
        await this.process(batch, 'live');
        this.taken = 0;
        backoffMs = 100;
      } catch (err) {
        this.pending.restore(batch);
        this.taken = 0;
        this.logger.error(
          { err, keys: batch.length, retryInMs: backoffMs },
          'capture batch failed; will retry',
        );
        if (!this.running) return; // shutting down with a broken dependency: the keys are re-read by healing
        await new Promise((r) => setTimeout(r, backoffMs));
        backoffMs = Math.min(backoffMs * 2, 5_000);
      }
    }
  }

  /** Waits out the linger of a batch that is not full yet; stop() and a full batch end it early. */
  private async linger(): Promise<void> {
    const { lingerMs, batchSize } = this.settings;
    const oldest = this.pending.oldestSince();
    if (!this.running || oldest === undefined || this.pending.size >= batchSize) return;
    const waitMs = lingerMs - (performance.now() - oldest);
    if (waitMs <= 0) return;
    this.lingering = true;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, waitMs);
      this.wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });
    this.lingering = false;
    this.wake = undefined;
  }

  private async process(
    batch: readonly PendingKey[],
    origin: Origin,
  ): Promise<{ produced: number; outcomes: CaptureOutcome[] }> {
    const states = await this.reader.read(
      batch.map((p) => p.key),
      true,
      readGuardBytes(this.settings.maxEventBytes),
    );
    this.metrics.captureReads.inc(states.length);
    const messages: Message[] = [];
    const rejected: Message[] = [];
    const outcomes: CaptureOutcome[] = [];
    // Events per label set, counted here and added once per batch rather than one labelled inc per event.
    const counts = new Map<string, { labels: [string, Op, Origin, string]; n: number }>();
    const { sourceId, db } = this.settings;
    for (let i = 0; i < states.length; i++) {
      const state = states[i] as KeyState;
      const p = batch[i] as PendingKey;
      const ctx = { sourceId, db, event: p.event, origin };
      const out = keyStateToEvent(state, ctx);
      let event = 'event' in out ? out.event : undefined;
      let bytes = event ? this.codec.encode(event) : undefined;
      const rejection =
        'rejection' in out
          ? out.rejection
          : bytes &&
            notCarried(state, { maxEventBytes: this.settings.maxEventBytes, encodedBytes: bytes.length });
      if (rejection) {
        // Never leave the item holding a value Redis no longer has: tombstone it, and say why on the DLQ.
        rejected.push(this.rejected(p, state, rejection));
        event = deleteEvent(state, ctx);
        bytes = this.codec.encode(event);
      }
      if (!event || !bytes) continue;
      outcomes.push({
        key: p.key,
        version: event.version,
        ...(rejection
          ? { outcome: 'refused', code: rejection.code, reason: rejection.reason }
          : { outcome: event.op === 'DELETE' ? 'deleted' : 'produced' }),
      });
      const type = event.value?.type ?? 'none';
      const id = `${type}\0${event.op}\0${p.event}`;
      const count = counts.get(id);
      if (count) count.n++;
      else counts.set(id, { labels: [type, event.op, origin, p.event], n: 1 });
      messages.push({ key: event.key, value: bytes, headers: { 'cdc-event': p.event } });
      // Debezium's pattern: a Kafka tombstone after a DELETE lets compaction drop the key eventually.
      if (event.op === 'DELETE') messages.push({ key: event.key, value: null });
    }
    await Promise.all([this.publisher.publish(messages), this.dlq.publish(rejected)]);
    const now = performance.now();
    for (const p of batch) this.metrics.captureNotifyToProduce.observe((now - p.since) / 1000);
    let produced = 0;
    for (const { labels, n } of counts.values()) {
      this.metrics.captureEvents.labels(...labels).inc(n);
      produced += n;
    }
    this.produced += produced;
    return { produced, outcomes };
  }

  /** A key capture will not carry: counted, logged, and recorded on the DLQ with the reason (never dropped). */
  private rejected(p: PendingKey, state: KeyState, r: Rejection): Message {
    this.metrics.captureRejected.inc({ reason: r.code });
    this.logger.error(
      { key: p.key.toString('latin1'), type: state.type, ...r },
      'key not replicated: sent to the DLQ',
    );
    return {
      key: p.key,
      value: null,
      headers: {
        [H.code]: r.code,
        [H.reason]: r.reason,
        [H.redisType]: state.type,
        [H.version]: state.version.toString(),
        [H.event]: p.event,
        [H.rejectedBy]: 'capture',
      },
    };
  }
}
