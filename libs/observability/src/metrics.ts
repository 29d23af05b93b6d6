import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * Every metric the replicator exports, in one file, named cdc_<app>_<noun>_<unit>. One instance per process
 * (`cdc run` shares it across the three apps), each with its own registry so tests can hold several.
 */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

export class Metrics {
  readonly registry = new Registry();
  /** Gauges read from their source at every scrape (see sample()). */
  private readonly samplers = new Map<Gauge, () => number>();

  // capture
  readonly captureNotifications = new Counter({
    name: 'cdc_capture_notifications_total',
    help: 'Keyspace notifications received, by Redis event',
    labelNames: ['event'] as const,
    registers: [this.registry],
  });
  readonly captureCoalesced = new Counter({
    name: 'cdc_capture_coalesced_notifications_total',
    help: 'Notifications folded into a read already pending for the same key',
    registers: [this.registry],
  });
  readonly captureReads = new Counter({
    name: 'cdc_capture_reads_total',
    help: 'Keys read with the versioned Lua script',
    registers: [this.registry],
  });
  readonly captureEvents = new Counter({
    name: 'cdc_capture_events_total',
    help: 'Change events produced, by Redis type, op, origin and the Redis event that triggered the read',
    labelNames: ['type', 'op', 'origin', 'event'] as const,
    registers: [this.registry],
  });
  readonly captureNotifyToProduce = new Histogram({
    name: 'cdc_capture_notify_to_produce_seconds',
    help: 'From notification received to event acknowledged by Kafka',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly captureGaps = new Counter({
    name: 'cdc_capture_gaps_total',
    help: 'Detected windows where notifications may have been lost, by cause',
    labelNames: ['cause'] as const,
    registers: [this.registry],
  });
  readonly captureReconcileKeys = new Counter({
    name: 'cdc_capture_reconcile_keys_total',
    help: 'Keys re-captured by reconciliation scans',
    registers: [this.registry],
  });
  readonly captureReconcileRunning = new Gauge({
    name: 'cdc_capture_reconcile_running',
    help: '1 while a reconciliation scan runs',
    registers: [this.registry],
  });
  readonly captureReconcileScanned = new Gauge({
    name: 'cdc_capture_reconcile_scanned_keys',
    help: 'Keys scanned so far by the running reconciliation scan',
    registers: [this.registry],
  });
  readonly captureSubscriberBuffer = new Gauge({
    name: 'cdc_capture_subscriber_output_buffer_bytes',
    help: "The keyspace subscriber's output buffer on the Redis server (omem): growth means capture lags",
    registers: [this.registry],
  });
  readonly captureEpoch = new Gauge({
    name: 'cdc_capture_epoch_ms',
    help: 'The version epoch capture last raised (epoch ms of the raise): it moves at start and at every history break',
    registers: [this.registry],
  });
  readonly capturePendingKeys = this.sampledGauge(
    'cdc_capture_pending_keys',
    'Keys notified but not yet produced (waiting, or in the batch being read and produced); read at each scrape',
  );
  readonly captureRejected = new Counter({
    name: 'cdc_capture_rejected_total',
    help: 'Keys not replicated, by reason (e.g. unsupported type)',
    labelNames: ['reason'] as const,
    registers: [this.registry],
  });

  // applier
  readonly applierEvents = new Counter({
    name: 'cdc_applier_events_total',
    help: 'Events consumed, by outcome: applied, stale, duplicate, rejected (DLQ), coalesced (superseded in its batch), kafka_tombstone',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly applierBatchSeconds = new Histogram({
    name: 'cdc_applier_batch_seconds',
    help: 'Time to apply and commit one fetched batch',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly applierLag = new Histogram({
    name: 'cdc_applier_capture_to_apply_seconds',
    help: 'From the Redis read (capturedAt) to the DynamoDB write',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly applierErrors = new Counter({
    name: 'cdc_applier_errors_total',
    help: 'Apply errors by code',
    labelNames: ['code'] as const,
    registers: [this.registry],
  });

  readonly applierConsumerLag = new Gauge({
    name: 'cdc_applier_consumer_lag',
    help: "Messages behind the end offset per partition for the applier's group: set after each commit, and every 15 s from the group's committed offsets (so an idle or stuck partition is current too)",
    labelNames: ['topic', 'partition'] as const,
    registers: [this.registry],
  });

  // verifier
  readonly verifierRecords = new Counter({
    name: 'cdc_verifier_records_total',
    help: 'DynamoDB stream records checked against Redis, by parity class',
    labelNames: ['class'] as const,
    registers: [this.registry],
  });
  readonly verifierEndToEnd = new Histogram({
    name: 'cdc_verifier_capture_to_stream_seconds',
    help: 'From the Redis read (capturedAt) to the record seen on the DynamoDB stream',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly verifierCaptureToApply = new Histogram({
    name: 'cdc_verifier_capture_to_apply_seconds',
    help: 'From the Redis read (capturedAt) to the DynamoDB write (appliedAt), per record seen on the stream',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly verifierApplyToStream = new Histogram({
    name: 'cdc_verifier_apply_to_stream_seconds',
    help: 'From the DynamoDB write (appliedAt) to the record seen on the DynamoDB stream',
    buckets: LATENCY_BUCKETS,
    registers: [this.registry],
  });
  readonly verifierShards = new Gauge({
    name: 'cdc_verifier_shards_open',
    help: 'Stream shards being read',
    registers: [this.registry],
  });

  readonly verifierParityRatio = new Gauge({
    name: 'cdc_verifier_parity_ratio',
    help: 'Stream records matching Redis over the verifier window, of the confirmed ones (in-flight and not-carried excluded, as cdc status does); 1 when none',
    registers: [this.registry],
  });
  readonly verifierWindowRecords = new Gauge({
    name: 'cdc_verifier_window_records',
    help: 'Confirmed stream records in the verifier window: 0 means an idle window, not bad parity',
    registers: [this.registry],
  });
  readonly verifierStreamLastRead = new Gauge({
    name: 'cdc_verifier_stream_last_read_timestamp_seconds',
    help: 'Unix time of the last successful GetRecords poll on any shard (0 before the first): it moves on an idle table too',
    registers: [this.registry],
  });
  readonly verifierStreamNewestRecordAge = new Gauge({
    name: 'cdc_verifier_stream_newest_record_age_seconds',
    help: 'Now minus the ApproximateCreationDateTime of the newest stream record read (0 before the first); grows on an idle table',
    registers: [this.registry],
  });

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true)
      collectDefaultMetrics({ register: this.registry, prefix: 'cdc_process_' });
  }

  /**
   * Reads `gauge` from `read` at every scrape instead of setting it on each change (capture's pending keys
   * change per notification). One source per gauge: the last one registered wins.
   */
  sample(gauge: Gauge, read: () => number): void {
    this.samplers.set(gauge, read);
  }

  private sampledGauge(name: string, help: string): Gauge {
    const samplers = this.samplers;
    const gauge: Gauge = new Gauge({
      name,
      help,
      registers: [this.registry],
      collect() {
        const read = samplers.get(gauge);
        if (read) gauge.set(read());
      },
    });
    return gauge;
  }

  /** Sum of a counter's values over all label sets (for status lines and tests). */
  static async total(counter: Counter, labels: Record<string, string> = {}): Promise<number> {
    const { values } = await counter.get();
    return values
      .filter((v) => Object.entries(labels).every(([k, want]) => v.labels[k] === want))
      .reduce((sum, v) => sum + v.value, 0);
  }
}
