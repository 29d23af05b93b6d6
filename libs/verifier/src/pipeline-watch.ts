import { type Admin, keyPartition } from '@cdc/kafka';
import { type ControlClient, controlKeys, parseGapRecord } from '@cdc/redis';
import type { Mark, Progress, Unknown } from './in-flight';
import { gapFreeSince } from './status/readiness';

/** The pipeline's progress for every partition at once, read in one go before a look. */
export interface PipelineProgress {
  readonly committed: ReadonlyMap<number, bigint | null>;
  readonly captureAliveAt: number | null;
  readonly captureGapFreeSince: number | null;
}

/**
 * What the in-flight rule (in-flight.ts) needs from the engines: the end offsets of the changes topic (marks),
 * the applier group's committed offsets, capture's heartbeat and gap record. Thin; without an admin (no
 * KAFKA_BROKERS) or with Kafka unreachable the progress is unknown, and nothing is confirmed.
 */
export class PipelineWatch {
  constructor(
    private readonly admin: Admin | undefined,
    private readonly control: ControlClient,
    private readonly names: {
      readonly topic: string;
      readonly applierGroup: string;
      readonly sourceId: string;
    },
  ) {}

  /** The partition each key lives in and its end offset now. */
  async mark(keys: readonly Buffer[]): Promise<Mark[] | Unknown> {
    if (!this.admin) return NO_KAFKA;
    try {
      const at = Date.now();
      const watermarks = await this.admin.fetchTopicOffsets(this.names.topic);
      const ends = new Map(watermarks.map((w) => [w.partition, BigInt(w.high)]));
      return keys.map((key) => {
        const partition = keyPartition(key, watermarks.length);
        return { partition, end: ends.get(partition) ?? 0n, at };
      });
    } catch (err) {
      return { unknown: `${(err as Error).message} (is Kafka reachable?)` };
    }
  }

  async progress(): Promise<PipelineProgress | Unknown> {
    if (!this.admin) return NO_KAFKA;
    try {
      const { topic, applierGroup, sourceId } = this.names;
      const [[offsets], alive, gaps] = await Promise.all([
        this.admin.fetchOffsets({ groupId: applierGroup, topics: [topic] }),
        this.control.get(controlKeys.alive(sourceId)),
        this.control.hgetall(controlKeys.gaps(sourceId)),
      ]);
      const committed = new Map<number, bigint | null>();
      for (const p of offsets?.partitions ?? []) {
        const offset = BigInt(p.offset);
        committed.set(p.partition, offset >= 0n ? offset : null); // -1: never committed
      }
      return {
        committed,
        captureAliveAt: alive === null ? null : Number(alive),
        captureGapFreeSince: gapFreeSince(parseGapRecord(gaps)),
      };
    } catch (err) {
      return { unknown: `${(err as Error).message} (is Kafka reachable?)` };
    }
  }

  /** One partition's view of the progress. */
  static forPartition(p: PipelineProgress | Unknown, partition: number | undefined): Progress | Unknown {
    if ('unknown' in p) return p;
    return {
      committed: partition === undefined ? null : (p.committed.get(partition) ?? null),
      captureAliveAt: p.captureAliveAt,
      captureGapFreeSince: p.captureGapFreeSince,
    };
  }
}

const NO_KAFKA: Unknown = { unknown: 'KAFKA_BROKERS is not set for this process' };
