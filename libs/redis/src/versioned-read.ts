import type { RedisType, RedisValue } from '@cdc/contracts';
import type Redis from 'ioredis';
import { INTERNAL_PREFIX, slotTag, versionKeyFor } from './slot';

/**
 * Design invariant 1: a key's type, value, TTL and a fresh version are taken in ONE script, so no write can
 * slip between the read and its version. One script call reads a whole batch of keys: Redis runs a script
 * atomically, so every read in it happens at one instant, and the call bumps ONE counter however many keys it
 * reads (a per-key counter write cost Redis a SET and a keyspace notification per read, which capture then
 * received and discarded).
 *
 * The version is a hybrid logical clock per logical database: base = max(last + 1, server time in µs); the
 * i-th key of the call gets base + i and the counter keeps base + n - 1, so versions are unique and grow in
 * read order. The clock term survives a Redis restart without persistence (the counter restarts from the
 * clock, above anything issued before: the counter leads the clock by at most the keys read in one µs); the
 * counter term keeps versions strictly increasing within a µs, across a clock step backwards, and across
 * concurrent capture instances. Scripts may call TIME before writing since Redis 5 (effects replication).
 * https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 * Numbers are formatted with %.0f: Lua's default tostring would print 1.764e+15 and lose digits; Lua numbers
 * are doubles, exact up to 2^53 (µs since 1970 stay below it until the year 2255).
 *
 * The counter lives in the captured database (keys are per database, so are their versions). It replaced a
 * counter per hash slot (`versionKeyFor`); a key versioned under that scheme never gets a smaller version
 * afterwards: when the counter is missing, the script refuses to version and the reader first seeds it with
 * max(every per-slot counter, the clock) (`seed()`), so the first new version is above every old one even if
 * the clock has stepped back since. Standalone Redis only, as capture connects to one primary: in Redis
 * Cluster all keys of a script must share a slot, so a cluster reader would group a batch by slot and keep the
 * per-slot counter as each group's counter.
 */
const READ_AND_VERSION = `
local n = #KEYS - 1
local now = redis.call('TIME')
local nowUs = tonumber(now[1]) * 1000000 + tonumber(now[2])
local base = nowUs
if ARGV[1] == '1' then
  local last = redis.call('GET', KEYS[1])
  if not last then return 0 end
  last = tonumber(last)
  if last >= base then base = last + 1 end
  redis.call('SET', KEYS[1], string.format('%.0f', base + n - 1))
end
local guard = tonumber(ARGV[2])
local out = {string.format('%.0f', base), string.format('%.0f', math.floor(nowUs / 1000))}
for i = 1, n do
  local key = KEYS[i + 1]
  local t = redis.call('TYPE', key)['ok']
  local r
  if t == 'none' then
    r = {t}
  else
    local pttl = redis.call('PTTL', key)
    local size = 0
    if guard > 0 then
      if t == 'string' then size = redis.call('STRLEN', key) else size = redis.call('MEMORY', 'USAGE', key) or 0 end
    end
    if size > guard then r = {t, pttl, '', size}
    elseif t == 'string' then r = {t, pttl, redis.call('GET', key)}
    elseif t == 'hash' then r = {t, pttl, redis.call('HGETALL', key)}
    elseif t == 'list' then r = {t, pttl, redis.call('LRANGE', key, 0, -1)}
    elseif t == 'set' then r = {t, pttl, redis.call('SMEMBERS', key)}
    elseif t == 'zset' then r = {t, pttl, redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')}
    else r = {t, pttl, ''}
    end
  end
  out[i + 2] = r
end
return out
`;

/** Raises the counter to max(itself, floor, clock), creating it. Idempotent; several readers may race. */
const SEED_COUNTER = `
local now = redis.call('TIME')
local v = tonumber(now[1]) * 1000000 + tonumber(now[2])
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
local floor = tonumber(ARGV[1])
if cur > v then v = cur end
if floor > v then v = floor end
redis.call('SET', KEYS[1], string.format('%.0f', v))
return 1
`;

/** The version counter of the database the connection is on. */
export const VERSION_COUNTER_KEY = `${INTERNAL_PREFIX}ver`;

/**
 * Keys per script call. A script blocks every other client while it runs, so a call must stay short even when
 * its keys are big (each up to the size guard): 100 keeps a call of small values well under a millisecond, and
 * one counter write per 100 reads already removes 99% of the old per-key writes. A pipeline carries several
 * calls, so a batch is still one round trip.
 */
export const MAX_KEYS_PER_CALL = 100;

export interface KeyState {
  readonly key: Buffer;
  /** 'none' = the key does not exist (a delete). */
  readonly type: RedisType | 'none';
  readonly version: bigint;
  /** Absolute epoch ms when the key expires, or null. */
  readonly expireAtMs: number | null;
  /** Redis server clock at the read, epoch ms. */
  readonly readAtMs: number;
  /** Null for 'none', for types we do not carry (stream) and for values over the size guard. */
  readonly value: RedisValue | null;
  /** Set when the value was not read because it is over the size guard: its (estimated) size in bytes. */
  readonly oversizedBytes?: number;
}

/** One key's part of the reply: [type] for a missing key, else [type, pttl, value, oversized size?]. */
type RawKeyReply = [Buffer, number?, (Buffer | Buffer[])?, number?];
/** [base version, server ms, ...one reply per key], or 0 when the counter must be seeded first. */
type RawReply = [Buffer, Buffer, ...RawKeyReply[]] | 0;

interface ScriptedRedis {
  cdcReadBatchBuffer(numKeys: number, ...args: Array<Buffer | string>): Promise<RawReply>;
  cdcSeedVersion(counter: string, floor: string): Promise<number>;
}

const SLOTS = 16384;
const SEED_MGET_CHUNK = 1024;

/** Reads keys with the versioned script: one script call per batch (per 500 keys), one round trip. */
export class VersionedReader {
  constructor(private readonly redis: Redis) {
    if (!('cdcReadBatchBuffer' in redis)) {
      redis.defineCommand('cdcReadBatch', { lua: READ_AND_VERSION });
      redis.defineCommand('cdcSeedVersion', { numberOfKeys: 1, lua: SEED_COUNTER });
    }
  }

  /**
   * bump=true takes fresh versions (capture, snapshot, repair). bump=false only reads (verifier): the
   * returned version is then the server clock and means nothing. A value over `guardBytes` (STRLEN, or MEMORY
   * USAGE's estimate for collections; 0 = no guard) is not read at all, so a huge key never lands in memory.
   */
  async read(keys: readonly Buffer[], bump = true, guardBytes = 0): Promise<KeyState[]> {
    if (keys.length === 0) return [];
    for (let attempt = 0; ; attempt++) {
      const states = await this.tryRead(keys, bump, guardBytes);
      if (states) return states;
      // Only a vanished counter (first use, FLUSHALL, a restart without persistence) brings us here.
      if (attempt >= 3) throw new Error(`the version counter ${VERSION_COUNTER_KEY} keeps disappearing`);
      await this.seed();
    }
  }

  /** Undefined when a call found the counter missing (nothing was versioned by that call then). */
  private async tryRead(
    keys: readonly Buffer[],
    bump: boolean,
    guardBytes: number,
  ): Promise<KeyState[] | undefined> {
    const pipeline = this.redis.pipeline();
    const scripted = pipeline as unknown as ScriptedRedis;
    const flag = bump ? '1' : '0';
    const guard = String(guardBytes);
    for (let from = 0; from < keys.length; from += MAX_KEYS_PER_CALL) {
      const chunk = keys.slice(from, from + MAX_KEYS_PER_CALL);
      void scripted.cdcReadBatchBuffer(chunk.length + 1, VERSION_COUNTER_KEY, ...chunk, flag, guard);
    }
    const replies = (await pipeline.exec()) ?? [];
    const out: KeyState[] = [];
    let unseeded = false;
    replies.forEach(([err, reply], c) => {
      if (err) throw err;
      if (reply === 0) unseeded = true;
      else parseBatch(keys, c * MAX_KEYS_PER_CALL, reply as Exclude<RawReply, 0>, out);
    });
    return unseeded ? undefined : out;
  }

  /**
   * Creates the counter above every version handed out before: the per-slot counters of the scheme this one
   * replaced (none exist on a fresh or flushed Redis) and the clock.
   */
  private async seed(): Promise<void> {
    let floor = 0n;
    const pipeline = this.redis.pipeline();
    for (let from = 0; from < SLOTS; from += SEED_MGET_CHUNK) {
      const names: string[] = [];
      for (let s = from; s < from + SEED_MGET_CHUNK; s++) names.push(versionKeyFor(slotKey(s)));
      pipeline.mget(names);
    }
    for (const [err, values] of (await pipeline.exec()) ?? []) {
      if (err) throw err;
      for (const v of values as Array<string | null>) if (v !== null && BigInt(v) > floor) floor = BigInt(v);
    }
    await (this.redis as unknown as ScriptedRedis).cdcSeedVersion(VERSION_COUNTER_KEY, floor.toString());
  }
}

/** A key in `slot` (its hash tag). */
const slotKey = (slot: number): Buffer => Buffer.from(`{${slotTag(slot)}}`);

function parseScore(raw: Buffer): number {
  const s = raw.toString();
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

function pairs<T>(flat: Buffer[], map: (a: Buffer, b: Buffer) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push(map(flat[i] as Buffer, flat[i + 1] as Buffer));
  return out;
}

/** Appends one script call's states to `out`; its keys start at keys[offset]. */
export function parseBatch(
  keys: readonly Buffer[],
  offset: number,
  [rawBase, rawNow, ...perKey]: Exclude<RawReply, 0>,
  out: KeyState[],
): void {
  const base = BigInt(rawBase.toString());
  const readAtMs = Number(rawNow.toString());
  perKey.forEach((reply, i) =>
    out.push(parseKey(keys[offset + i] as Buffer, base + BigInt(i), readAtMs, reply)),
  );
}

function parseKey(
  key: Buffer,
  version: bigint,
  readAtMs: number,
  [rawType, pttl = -2, raw, oversized]: RawKeyReply,
): KeyState {
  const type = rawType.toString() as KeyState['type'];
  const expireAtMs = pttl >= 0 ? readAtMs + pttl : null;
  const state = (value: RedisValue | null): KeyState => ({ key, type, version, expireAtMs, readAtMs, value });
  if (oversized !== undefined) return { ...state(null), oversizedBytes: oversized };
  const list = Array.isArray(raw) ? raw : [];
  switch (type) {
    case 'string':
      return state({ type, data: raw as Buffer });
    case 'hash':
      return state({ type, fields: pairs(list, (f, v) => [f, v] as const) });
    case 'list':
      return state({ type, items: list });
    case 'set':
      return state({ type, members: list });
    case 'zset':
      return state({ type, members: pairs(list, (m, s) => [m, parseScore(s)] as const) });
    case 'none':
    case 'stream':
    default:
      return state(null);
  }
}
