import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  ExpiredIteratorException,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
  type Shard,
  type ShardIteratorType,
  TrimmedDataAccessException,
} from '@aws-sdk/client-dynamodb-streams';
import { isAfter, readyShards } from './shard-lineage';

export type { _Record as StreamRecord } from '@aws-sdk/client-dynamodb-streams';

/**
 * Where each shard was read up to, and which shards were read to their end. Asynchronous so a persisted
 * store (the verifier keeps it in Redis) plugs in: a restarted reader resumes after its last checkpoint, and a
 * child shard may start on any instance once its parent was closed by another.
 */
export interface CheckpointStore {
  get(shardId: string): Promise<string | undefined>;
  set(shardId: string, sequenceNumber: string): Promise<void>;
  /** Marks a closed shard as fully read. */
  close(shardId: string): Promise<void>;
  closed(): Promise<ReadonlySet<string>>;
  /** Forgets shards no longer in the stream (trimmed 24 h after they closed), so the store stays small. */
  prune(liveShardIds: ReadonlySet<string>): Promise<void>;
}

export class MemoryCheckpoints implements CheckpointStore {
  private readonly map = new Map<string, string>();
  private readonly done = new Set<string>();
  get(shardId: string): Promise<string | undefined> {
    return Promise.resolve(this.map.get(shardId));
  }
  set(shardId: string, sequenceNumber: string): Promise<void> {
    this.map.set(shardId, sequenceNumber);
    return Promise.resolve();
  }
  close(shardId: string): Promise<void> {
    this.done.add(shardId);
    return Promise.resolve();
  }
  closed(): Promise<ReadonlySet<string>> {
    return Promise.resolve(this.done);
  }
  prune(liveShardIds: ReadonlySet<string>): Promise<void> {
    for (const id of [...this.map.keys(), ...this.done])
      if (!liveShardIds.has(id)) {
        this.map.delete(id);
        this.done.delete(id);
      }
    return Promise.resolve();
  }
}

/**
 * Exclusive, expiring ownership of a shard across reader instances. DynamoDB Streams serves at most two
 * concurrent readers per shard (https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html);
 * a lease keeps it at one, and a crashed owner's lease expires so another instance takes over.
 */
export interface ShardLeases {
  /** How often a held lease is renewed (well under its time to live). */
  readonly renewEveryMs: number;
  /** True when this instance now holds the shard. */
  acquire(shardId: string): Promise<boolean>;
  /** False when the lease was lost (expired and taken by another instance). */
  renew(shardId: string): Promise<boolean>;
  release(shardId: string): Promise<void>;
}

export interface StreamReaderOptions {
  /** Where a shard with no checkpoint starts. */
  readonly startAt: Extract<ShardIteratorType, 'TRIM_HORIZON' | 'LATEST'>;
  readonly pollIntervalMs: number;
  readonly discoveryIntervalMs: number;
  readonly checkpoints: CheckpointStore;
  /** Unset: this reader assumes it is the only one (tests, one-off tools). */
  readonly leases?: ShardLeases;
  readonly onRecords: (records: StreamRecord[], shardId: string) => Promise<void>;
  readonly onError: (err: Error, shardId?: string) => void;
}

/**
 * A DynamoDB Streams poller (there is no KCL for Node): discovers shards, reads each parent before its
 * children, checkpoints after each delivered page, and re-acquires iterators on expiry (15 min) and on trim
 * (incl. DynamoDB Local's quirk where an iterator taken on an empty shard later reports
 * TrimmedDataAccessException; TRIM_HORIZON again recovers every record, already-seen ones are skipped).
 * With leases, a shard another instance holds is left alone until its lease expires.
 */
export class StreamReader {
  private running = false;
  private readonly finished = new Set<string>();
  private readonly active = new Map<string, Promise<void>>();
  /** Shards whose lease was lost: their read loop ends at its next turn. */
  private readonly lost = new Set<string>();
  private waiting = 0;
  private lastRead: number | undefined;
  private newestRecord: number | undefined;
  private loop: Promise<void> | undefined;
  private renewTimer: NodeJS.Timeout | undefined;
  /** Aborted by stop(): every wait ends at once, so shutdown never waits out a poll interval. */
  private readonly stopping = new AbortController();

  constructor(
    private readonly client: DynamoDBStreamsClient,
    private readonly streamArn: string,
    private readonly opts: StreamReaderOptions,
  ) {}

  get openShards(): number {
    return this.active.size;
  }

  /** When a GetRecords poll last succeeded on any shard (epoch ms): it moves on an idle stream too. */
  get lastReadAt(): number | undefined {
    return this.lastRead;
  }

  /** The ApproximateCreationDateTime of the newest record read (epoch ms). */
  get newestRecordAt(): number | undefined {
    return this.newestRecord;
  }

  /** Shards ready to read but leased by another instance at the last discovery. */
  get waitingShards(): number {
    return this.waiting;
  }

  start(): void {
    this.running = true;
    this.loop = this.discover();
    const leases = this.opts.leases;
    if (leases) {
      this.renewTimer = setInterval(() => void this.renewLeases(leases), leases.renewEveryMs);
      this.renewTimer.unref();
    }
  }

  /** Ends every shard loop; each releases its lease, so another instance can take over at once. */
  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    clearInterval(this.renewTimer);
    await this.loop;
    await Promise.allSettled(this.active.values());
  }

  private sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      if (this.stopping.signal.aborted) return resolve();
      const onAbort = () => {
        clearTimeout(timer);
        resolve();
      };
      const timer = setTimeout(() => {
        this.stopping.signal.removeEventListener('abort', onAbort);
        resolve();
      }, ms);
      this.stopping.signal.addEventListener('abort', onAbort, { once: true });
    });
  }

  /** Renewed apart from the read loops, so a slow page cannot let a lease lapse under a reader. */
  private async renewLeases(leases: ShardLeases): Promise<void> {
    for (const shardId of this.active.keys()) {
      const held = await leases.renew(shardId).catch((err: Error) => {
        this.opts.onError(err, shardId);
        return true; // unknown: keep reading, the next renewal decides
      });
      if (!held) {
        this.lost.add(shardId);
        this.opts.onError(
          new Error(`lease on shard ${shardId} lost to another reader; stopping it`),
          shardId,
        );
      }
    }
  }

  private async discover(): Promise<void> {
    while (this.running) {
      try {
        const shards = await this.listShards();
        await this.opts.checkpoints.prune(new Set(shards.map((s) => s.shardId)));
        for (const id of await this.opts.checkpoints.closed()) this.finished.add(id);
        let waiting = 0;
        for (const shard of readyShards(shards, this.finished, new Set(this.active.keys()))) {
          if (!this.running) break;
          if (this.opts.leases && !(await this.opts.leases.acquire(shard.shardId))) {
            waiting++;
            continue;
          }
          const task = this.readShard(shard.shardId).finally(() => this.leaveShard(shard.shardId));
          this.active.set(shard.shardId, task);
        }
        this.waiting = waiting;
      } catch (err) {
        this.opts.onError(err as Error);
      }
      await this.sleep(this.opts.discoveryIntervalMs);
    }
  }

  private async leaveShard(shardId: string): Promise<void> {
    this.active.delete(shardId);
    const lost = this.lost.delete(shardId);
    if (this.opts.leases && !lost)
      await this.opts.leases.release(shardId).catch((err: Error) => this.opts.onError(err, shardId));
  }

  private async listShards(): Promise<Array<{ shardId: string; parentShardId?: string }>> {
    const shards: Shard[] = [];
    let start: string | undefined;
    do {
      const { StreamDescription } = await this.client.send(
        new DescribeStreamCommand({
          StreamArn: this.streamArn,
          ...(start ? { ExclusiveStartShardId: start } : {}),
        }),
      );
      shards.push(...(StreamDescription?.Shards ?? []));
      start = StreamDescription?.LastEvaluatedShardId;
    } while (start);
    return shards.flatMap((s) =>
      s.ShardId
        ? [{ shardId: s.ShardId, ...(s.ParentShardId ? { parentShardId: s.ParentShardId } : {}) }]
        : [],
    );
  }

  private async iterator(
    shardId: string,
    checkpoint: string | undefined,
    forceTrimHorizon = false,
  ): Promise<string | undefined> {
    const type: ShardIteratorType =
      checkpoint && !forceTrimHorizon
        ? 'AFTER_SEQUENCE_NUMBER'
        : forceTrimHorizon
          ? 'TRIM_HORIZON'
          : this.opts.startAt;
    const { ShardIterator } = await this.client.send(
      new GetShardIteratorCommand({
        StreamArn: this.streamArn,
        ShardId: shardId,
        ShardIteratorType: type,
        ...(type === 'AFTER_SEQUENCE_NUMBER' ? { SequenceNumber: checkpoint } : {}),
      }),
    );
    return ShardIterator;
  }

  private progress(records: readonly StreamRecord[]): void {
    this.lastRead = Date.now();
    // A shard's records come in order: the page's last is its newest.
    const created = records.at(-1)?.dynamodb?.ApproximateCreationDateTime?.getTime();
    if (created !== undefined && created > (this.newestRecord ?? 0)) this.newestRecord = created;
  }

  private async readShard(shardId: string): Promise<void> {
    // Read once the shard is ours: a previous owner may have moved it on.
    let checkpoint: string | undefined;
    // A failed (re-)acquisition must not reject readShard (nobody awaits it until stop(): an unhandled
    // rejection ends the process); the shard leaves `active` and the next discovery round restarts it.
    const failed = (e: Error) => {
      this.opts.onError(e, shardId);
      return undefined;
    };
    let iterator = await this.opts.checkpoints
      .get(shardId)
      .then((c) => this.iterator(shardId, (checkpoint = c)))
      .catch(failed);
    while (this.running && iterator && !this.lost.has(shardId)) {
      try {
        const page = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        this.progress(page.Records ?? []);
        const fresh = (page.Records ?? []).filter((r) =>
          isAfter(r.dynamodb?.SequenceNumber ?? '0', checkpoint),
        );
        if (fresh.length > 0) {
          await this.opts.onRecords(fresh, shardId);
          const last = fresh[fresh.length - 1]?.dynamodb?.SequenceNumber;
          if (last) {
            checkpoint = last;
            await this.opts.checkpoints.set(shardId, last);
          }
        }
        iterator = page.NextShardIterator;
        if (!iterator) {
          // Closed and fully read: its children may start, here or on another instance.
          await this.opts.checkpoints.close(shardId);
          this.finished.add(shardId);
        } else if ((page.Records ?? []).length === 0) await this.sleep(this.opts.pollIntervalMs);
      } catch (err) {
        if (err instanceof TrimmedDataAccessException)
          iterator = await this.iterator(shardId, checkpoint, true).catch(failed);
        else if (err instanceof ExpiredIteratorException)
          iterator = await this.iterator(shardId, checkpoint).catch(failed);
        else {
          this.opts.onError(err as Error, shardId);
          await this.sleep(this.opts.pollIntervalMs * 5);
          iterator = await this.iterator(shardId, checkpoint).catch(() => iterator);
        }
      }
    }
  }
}
