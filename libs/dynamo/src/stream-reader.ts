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

/** Where each shard was read up to. In memory here; a persisted store plugs in behind the same interface. */
export interface CheckpointStore {
  get(shardId: string): string | undefined;
  set(shardId: string, sequenceNumber: string): void;
}

export class MemoryCheckpoints implements CheckpointStore {
  private readonly map = new Map<string, string>();
  get(shardId: string): string | undefined {
    return this.map.get(shardId);
  }
  set(shardId: string, sequenceNumber: string): void {
    this.map.set(shardId, sequenceNumber);
  }
}

export interface StreamReaderOptions {
  /** Where a shard with no checkpoint starts. */
  readonly startAt: Extract<ShardIteratorType, 'TRIM_HORIZON' | 'LATEST'>;
  readonly pollIntervalMs: number;
  readonly discoveryIntervalMs: number;
  readonly checkpoints: CheckpointStore;
  readonly onRecords: (records: StreamRecord[], shardId: string) => Promise<void>;
  readonly onError: (err: Error, shardId?: string) => void;
}

/**
 * A DynamoDB Streams poller (there is no KCL for Node): discovers shards, reads each parent before its
 * children, checkpoints after each delivered page, and re-acquires iterators on expiry (15 min) and on trim
 * (incl. DynamoDB Local's quirk where an iterator taken on an empty shard later reports
 * TrimmedDataAccessException; TRIM_HORIZON again recovers every record, already-seen ones are skipped).
 */
export class StreamReader {
  private running = false;
  private readonly finished = new Set<string>();
  private readonly active = new Map<string, Promise<void>>();
  private loop: Promise<void> | undefined;
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

  start(): void {
    this.running = true;
    this.loop = this.discover();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.stopping.abort();
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

  private async discover(): Promise<void> {
    while (this.running) {
      try {
        const shards = await this.listShards();
        for (const shard of readyShards(shards, this.finished, new Set(this.active.keys()))) {
          const task = this.readShard(shard.shardId).finally(() => this.active.delete(shard.shardId));
          this.active.set(shard.shardId, task);
        }
      } catch (err) {
        this.opts.onError(err as Error);
      }
      await this.sleep(this.opts.discoveryIntervalMs);
    }
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

  private async iterator(shardId: string, forceTrimHorizon = false): Promise<string | undefined> {
    const checkpoint = this.opts.checkpoints.get(shardId);
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

  private async readShard(shardId: string): Promise<void> {
    let iterator = await this.iterator(shardId).catch((err: Error) => {
      this.opts.onError(err, shardId);
      return undefined;
    });
    while (this.running && iterator) {
      try {
        const page = await this.client.send(new GetRecordsCommand({ ShardIterator: iterator, Limit: 1000 }));
        const checkpoint = this.opts.checkpoints.get(shardId);
        const fresh = (page.Records ?? []).filter((r) =>
          isAfter(r.dynamodb?.SequenceNumber ?? '0', checkpoint),
        );
        if (fresh.length > 0) {
          await this.opts.onRecords(fresh, shardId);
          const last = fresh[fresh.length - 1]?.dynamodb?.SequenceNumber;
          if (last) this.opts.checkpoints.set(shardId, last);
        }
        iterator = page.NextShardIterator;
        if (!iterator)
          this.finished.add(shardId); // closed and fully read: its children may start
        else if ((page.Records ?? []).length === 0) await this.sleep(this.opts.pollIntervalMs);
      } catch (err) {
        // A failed re-acquisition must not reject readShard (nobody awaits it until stop(): an unhandled
        // rejection ends the process); the shard leaves `active` and the next discovery round restarts it.
        const reacquireFailed = (e: Error) => {
          this.opts.onError(e, shardId);
          return undefined;
        };
        if (err instanceof TrimmedDataAccessException)
          iterator = await this.iterator(shardId, true).catch(reacquireFailed);
        else if (err instanceof ExpiredIteratorException)
          iterator = await this.iterator(shardId).catch(reacquireFailed);
        else {
          this.opts.onError(err as Error, shardId);
          await this.sleep(this.opts.pollIntervalMs * 5);
          iterator = await this.iterator(shardId).catch(() => iterator);
        }
      }
    }
  }
}
