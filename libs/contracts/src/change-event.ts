/**
 * The change-event contract in its in-memory form. One event = the whole state of one Redis key at one version
 * (not a diff), so any single event is enough to rebuild the key, and replaying events in any order converges
 * once the applier keeps the highest version (design invariants 1-3).
 */
export type RedisType = 'string' | 'hash' | 'list' | 'set' | 'zset' | 'stream';
export type Op = 'UPSERT' | 'DELETE';
export type Origin = 'live' | 'snapshot' | 'repair' | 'replay';

export type RedisValue =
  | { readonly type: 'string'; readonly data: Buffer }
  | { readonly type: 'hash'; readonly fields: ReadonlyArray<readonly [field: Buffer, value: Buffer]> }
  | { readonly type: 'list'; readonly items: readonly Buffer[] }
  | { readonly type: 'set'; readonly members: readonly Buffer[] }
  | { readonly type: 'zset'; readonly members: ReadonlyArray<readonly [member: Buffer, score: number]> };

export interface ChangeEvent {
  readonly sourceId: string;
  readonly db: number;
  readonly key: Buffer;
  readonly op: Op;
  /** Null exactly when op is DELETE. */
  readonly value: RedisValue | null;
  /** Per-key version: BigInt because the Avro long can exceed Number.MAX_SAFE_INTEGER. */
  readonly version: bigint;
  /** Epoch ms when Redis expires the key, or null. */
  readonly expireAt: number | null;
  /** The Redis keyspace event (set, hset, del, expired, ...) that triggered the read. */
  readonly event: string;
  readonly origin: Origin;
  /** Epoch ms (Redis server clock) when the value was read. */
  readonly capturedAt: number;
}
