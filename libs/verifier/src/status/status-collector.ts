import type { CdcConfig } from '@cdc/config';
import type { DlqStanding } from '@cdc/contracts';
import { type Admin, DlqStore, groupLag, isUnknownTopic, type Kafka } from '@cdc/kafka';
import {
  controlKeys,
  type GapRecord,
  parseGapRecord,
  type ScanSummary,
  type StreamParitySnapshot,
  type ControlClient,
} from '@cdc/redis';
import {
  gapFreeSince,
  type PartitionLag,
  type Readiness,
  readiness,
  type ReadinessInputs,
  type ReadinessOptions,
  type Unknown,
} from './readiness';

export interface PartitionOffsets extends PartitionLag {
  /** High watermark (next offset to be written). */
  readonly end: string;
  /** The group's committed offset; null when it never committed on this partition. */
  readonly committed: string | null;
}

/** Everything `cdc status` shows and /status returns: the inputs, where they came from, and the verdict. */
export interface StatusReport extends Readiness {
  readonly at: number;
  readonly source: string;
  readonly table: string;
  readonly capture: {
    readonly aliveAt: number | null;
    readonly gapFreeSince: number | null;
    readonly gaps: GapRecord | null;
  };
  readonly consumer: {
    readonly group: string;
    readonly topic: string;
    readonly partitions: readonly PartitionOffsets[] | Unknown;
  };
  readonly dlq: {
    readonly topic: string;
    /** Where `cdc dlq accept` and `cdc dlq redrive` record resolutions. */
    readonly acceptedTopic: string;
    /** Records held (end - start offsets). */
    readonly depth: number | Unknown;
    readonly standing: DlqStanding | Unknown;
  };
  readonly streamParity: StreamParitySnapshot | null;
  readonly lastScan: ScanSummary | null;
}

/** Lag per partition of the applier's group: the same figure as the `cdc_applier_consumer_lag` gauge. */
export function partitionLags(
  watermarks: ReadonlyArray<{ partition: number; high: string; low: string }>,
  committed: ReadonlyArray<{ partition: number; offset: string }>,
): PartitionOffsets[] {
  return groupLag(watermarks, committed);
}

/** Readiness thresholds from the configuration (the rest keep their documented defaults). */
export function readinessOptions(config: CdcConfig): Partial<ReadinessOptions> {
  return {
    aliveWithinMs: Math.max(10_000, config.heartbeatIntervalMs * 3 + config.heartbeatTimeoutMs),
    maxConsumerLag: config.readyMaxConsumerLag,
    maxLagP99Ms: config.readyMaxLagP99Ms,
  };
}

const unknown = (err: unknown, topic: string): Unknown => ({
  unknown: isUnknownTopic(err)
    ? `topic ${topic} does not exist (capture creates it when it starts)`
    : `${(err as Error).message} (is Kafka reachable?)`,
});

function json<T>(text: string | null): T | null {
  if (text === null) return null;
  try {
    return JSON.parse(text) as T;
  } catch {
    return null; // a half-written or foreign value: as good as absent
  }
}

/**
 * Gathers the readiness inputs from the shared control keys in Redis and from Kafka (admin API; the DLQ and its
 * resolutions read to their ends). Thin: the judgement is `readiness()`. Without Kafka (no KAFKA_BROKERS)
 * consumer lag and the DLQ are unknown.
 */
export class StatusCollector {
  private readonly admin: Admin | undefined;
  private readonly dlqStore: DlqStore | undefined;

  constructor(
    private readonly redis: ControlClient,
    kafka: { readonly kafka: Kafka; readonly admin: Admin } | undefined,
    private readonly config: CdcConfig,
  ) {
    this.admin = kafka?.admin;
    // Kept with the collector: the verifier's /status re-reads the DLQ only when its offsets moved.
    this.dlqStore = kafka && new DlqStore(kafka.kafka, kafka.admin, config, 'cdc-status-dlq');
  }

  async report(options: Partial<ReadinessOptions> = {}): Promise<StatusReport> {
    const { sourceId, table, topic, dlqTopic, dlqAcceptedTopic, applierGroup } = this.config;
    const [[alive, gapHash, parity, scan], partitions, standing] = await Promise.all([
      this.readRedis(),
      this.consumerLag(),
      this.dlqStanding(),
    ]);
    const now = Date.now();
    const gaps = parseGapRecord(gapHash);
    const inputs: ReadinessInputs = {
      now,
      aliveAt: alive === null ? null : Number(alive),
      gaps,
      consumerLag: partitions,
      dlq: standing,
      streamParity: json<StreamParitySnapshot>(parity),
      lastScan: json<ScanSummary>(scan),
    };
    return {
      at: now,
      source: sourceId,
      table,
      ...readiness(inputs, { ...readinessOptions(this.config), ...options }),
      capture: { aliveAt: inputs.aliveAt, gapFreeSince: gapFreeSince(gaps), gaps },
      consumer: { group: applierGroup, topic, partitions },
      dlq: {
        topic: dlqTopic,
        acceptedTopic: dlqAcceptedTopic,
        depth: 'unknown' in standing ? standing : standing.records,
        standing,
      },
      streamParity: inputs.streamParity,
      lastScan: inputs.lastScan,
    };
  }

  private async readRedis(): Promise<[string | null, Record<string, string>, string | null, string | null]> {
    const { sourceId: source, table } = this.config;
    // Four single-key reads, not one MULTI: in a Redis Cluster the keys live in different slots.
    return Promise.all([
      this.redis.get(controlKeys.alive(source)),
      this.redis.hgetall(controlKeys.gaps(source)),
      this.redis.get(controlKeys.streamParity(source, table)),
      this.redis.get(controlKeys.lastScan(source, table)),
    ]);
  }

  private async consumerLag(): Promise<PartitionOffsets[] | Unknown> {
    const { topic, applierGroup } = this.config;
    if (!this.admin) return { unknown: 'KAFKA_BROKERS is not set for this process' };
    try {
      const [watermarks, [committed]] = await Promise.all([
        this.admin.fetchTopicOffsets(topic),
        this.admin.fetchOffsets({ groupId: applierGroup, topics: [topic] }),
      ]);
      return partitionLags(watermarks, committed?.partitions ?? []);
    } catch (err) {
      return unknown(err, topic);
    }
  }

  private async dlqStanding(): Promise<DlqStanding | Unknown> {
    const { dlqTopic } = this.config;
    if (!this.dlqStore) return { unknown: 'KAFKA_BROKERS is not set for this process' };
    try {
      return await this.dlqStore.standing();
    } catch (err) {
      return unknown(err, dlqTopic);
    }
  }
}
