import { randomBytes } from 'node:crypto';
import type { CheckpointStore, ShardLeases } from '@cdc/dynamo';
import { type ControlClient, controlKeys } from '@cdc/redis';

const CLOSED = 'closed:';

/**
 * Only ever moves a shard's checkpoint forward: a reader that lost its lease mid-page must not pull it back
 * under the new owner. Sequence numbers are decimal strings without leading zeros (longer = larger), too long
 * for Lua's doubles, so they are compared by length, then as text.
 */
const ADVANCE = `
local cur = redis.call('HGET', KEYS[1], ARGV[1])
local new = ARGV[2]
if cur and (#cur > #new or (#cur == #new and cur >= new)) then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], new)
return 1`;

/** The stream reader's checkpoints in the hash controlKeys.streamCheckpoints: shardId -> sequence number. */
export class RedisStreamCheckpoints implements CheckpointStore {
  private readonly key: string;

  constructor(
    private readonly redis: ControlClient,
    source: string,
    table: string,
  ) {
    this.key = controlKeys.streamCheckpoints(source, table);
  }

  async get(shardId: string): Promise<string | undefined> {
    return (await this.redis.hget(this.key, shardId)) ?? undefined;
  }

  async set(shardId: string, sequenceNumber: string): Promise<void> {
    await this.redis.eval(ADVANCE, 1, this.key, shardId, sequenceNumber);
  }

  async close(shardId: string): Promise<void> {
    await this.redis.hset(this.key, `${CLOSED}${shardId}`, String(Date.now()));
  }

  async closed(): Promise<ReadonlySet<string>> {
    const fields = await this.redis.hkeys(this.key);
    return new Set(fields.filter((f) => f.startsWith(CLOSED)).map((f) => f.slice(CLOSED.length)));
  }

  async prune(liveShardIds: ReadonlySet<string>): Promise<void> {
    const fields = await this.redis.hkeys(this.key);
    const stale = fields.filter((f) => !liveShardIds.has(f.startsWith(CLOSED) ? f.slice(CLOSED.length) : f));
    if (stale.length > 0) await this.redis.hdel(this.key, ...stale);
  }
}

// Renew or release only a lease this instance still holds (https://redis.io/docs/latest/develop/use/patterns/distributed-locks/).
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;

/**
 * One reader per shard across verifier instances: SET NX PX under controlKeys.streamLease, renewed at a third
 * of its time to live. A crashed owner's lease expires after `ttlMs`; then another instance takes the shard.
 */
export class RedisShardLeases implements ShardLeases {
  readonly owner: string;
  readonly renewEveryMs: number;

  constructor(
    private readonly redis: ControlClient,
    private readonly source: string,
    private readonly table: string,
    private readonly ttlMs = 15_000,
    owner?: string,
  ) {
    this.owner = owner ?? `verifier-${process.pid}-${randomBytes(4).toString('hex')}`;
    this.renewEveryMs = Math.max(100, Math.floor(ttlMs / 3));
  }

  private key(shardId: string): string {
    return controlKeys.streamLease(this.source, this.table, shardId);
  }

  async acquire(shardId: string): Promise<boolean> {
    const key = this.key(shardId);
    if ((await this.redis.set(key, this.owner, 'PX', this.ttlMs, 'NX')) === 'OK') return true;
    return (await this.redis.eval(RENEW, 1, key, this.owner, this.ttlMs)) === 1;
  }

  async renew(shardId: string): Promise<boolean> {
    return (await this.redis.eval(RENEW, 1, this.key(shardId), this.owner, this.ttlMs)) === 1;
  }

  async release(shardId: string): Promise<void> {
    await this.redis.eval(RELEASE, 1, this.key(shardId), this.owner);
  }

  /** Who holds a shard now (null: nobody). */
  holder(shardId: string): Promise<string | null> {
    return this.redis.get(this.key(shardId));
  }
}
