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

export interface PipelineWatchOptions {
  /** False while the admin is not connected (yet): progress is unknown at once, no read waits on retries. */
  readonly connected?: () => boolean;
  /** One progress read serves every caller for this long (default 500 ms, the recheck's poll). */
  readonly progressMaxAgeMs?: number;
  readonly now?: () => number;
}

/**
 * What the in-flight rule (in-flight.ts) needs from the engines: the end offsets of the changes topic (marks),
 * the applier group's committed offsets, capture's heartbeat and gap record. Thin; without an admin (no
 * KAFKA_BROKERS), before it connected, or with Kafka unreachable the progress is unknown, and nothing is
 * confirmed. Every recheck loop (one per stream page or scan page, hundreds while the applier catches up) asks
 * for the progress every poll: one read per `progressMaxAgeMs` serves them all. A reused read is older than
 * the caller's look, as the rule requires; offsets and heartbeats only move forward, so it is only more cautious.
 */
export class PipelineWatch {
  private cached: { value: Promise<PipelineProgress | Unknown>; settledAt: number | null } | undefined;
  /** The reason of the last progress or mark read that failed (null: none failed). */
  lastUnknown: string | null = null;

  constructor(
    private readonly admin: Admin | undefined,
    private readonly control: ControlClient,
    private readonly names: {
      readonly topic: string;
      readonly applierGroup: string;
      readonly sourceId: string;
    },
    private readonly options: PipelineWatchOptions = {},
  ) {}

  private notConnected(): Unknown | null {
    if (!this.admin) return NO_KAFKA;
    if (this.options.connected && !this.options.connected()) return NOT_CONNECTED;
    return null;
  }

  private unknown(u: Unknown): Unknown {
    this.lastUnknown = u.unknown;
    return u;
  }

  /** The partition each key lives in and its end offset now. */
  async mark(keys: readonly Buffer[]): Promise<Mark[] | Unknown> {
    const away = this.notConnected();
    if (away) return this.unknown(away);
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
      return this.unknown({ unknown: `${(err as Error).message} (is Kafka reachable?)` });
    }
  }

  /**
   * The progress, read at most once per `progressMaxAgeMs` whoever asks: callers while a read runs join it (a
   * slow one, Kafka retrying, does not start more), callers within the age of the last result reuse it.
   */
  progress(): Promise<PipelineProgress | Unknown> {
    const clock = this.options.now ?? Date.now;
    const maxAge = this.options.progressMaxAgeMs ?? 500;
    const c = this.cached;
    if (c && (c.settledAt === null || clock() - c.settledAt < maxAge)) return c.value;
    const entry: { value: Promise<PipelineProgress | Unknown>; settledAt: number | null } = {
      value: this.readProgress().finally(() => {
        entry.settledAt = clock();
      }),
      settledAt: null,
    };
    this.cached = entry;
    return entry.value;
  }

  private async readProgress(): Promise<PipelineProgress | Unknown> {
    const away = this.notConnected();
    if (away) return this.unknown(away);
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
      return this.unknown({ unknown: `${(err as Error).message} (is Kafka reachable?)` });
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
const NOT_CONNECTED: Unknown = { unknown: 'the Kafka admin is not connected (is Kafka reachable?)' };
