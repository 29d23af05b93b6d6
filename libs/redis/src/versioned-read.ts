import type { RedisType, RedisValue } from '@cdc/contracts';
import type Redis from 'ioredis';
import { versionKeyFor } from './slot';

/**
 * Design invariant 1: a key's type, value, TTL and a fresh version are taken in ONE script, so no write can
 * slip between the read and its version. The version is a hybrid logical clock per hash slot: max(last + 1,
 * server time in µs). The clock term survives a Redis restart without persistence (the counter restarts from
 * the clock, above anything issued before); the counter term keeps it strictly increasing within a µs and
 * across concurrent capture instances. Scripts may call TIME before writing since Redis 5 (effects
 * replication). https://redis.io/docs/latest/develop/interact/programmability/eval-intro/
 * Numbers are formatted with %.0f: Lua's default tostring would print 1.764e+15 and lose digits.
 */
const READ_AND_VERSION = `
local key, vkey = KEYS[1], KEYS[2]
local t = redis.call('TYPE', key)['ok']
local now = redis.call('TIME')
local nowUs = tonumber(now[1]) * 1000000 + tonumber(now[2])
local ver = nowUs
if ARGV[1] == '1' then
  local last = tonumber(redis.call('GET', vkey) or '0')
  if last >= ver then ver = last + 1 end
  redis.call('SET', vkey, string.format('%.0f', ver))
end
local pttl = redis.call('PTTL', key)
local guard = tonumber(ARGV[2])
if guard > 0 and t ~= 'none' then
  local size
  if t == 'string' then size = redis.call('STRLEN', key) else size = redis.call('MEMORY', 'USAGE', key) or 0 end
  if size > guard then
    return {t, string.format('%.0f', ver), pttl, string.format('%.0f', math.floor(nowUs / 1000)), {}, size}
  end
end
local v = {}
if t == 'string' then v = redis.call('GET', key)
elseif t == 'hash' then v = redis.call('HGETALL', key)
elseif t == 'list' then v = redis.call('LRANGE', key, 0, -1)
elseif t == 'set' then v = redis.call('SMEMBERS', key)
elseif t == 'zset' then v = redis.call('ZRANGE', key, 0, -1, 'WITHSCORES')
end
return {t, string.format('%.0f', ver), pttl, string.format('%.0f', math.floor(nowUs / 1000)), v}
`;

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

type RawReply = [Buffer, Buffer, number, Buffer, Buffer | Buffer[], number?];

interface ScriptedRedis {
  cdcReadBuffer(key: Buffer, versionKey: string, bump: string, guardBytes: string): Promise<RawReply>;
}

/** Reads keys with the versioned script, pipelined: one round trip for a whole batch. */
export class VersionedReader {
  constructor(private readonly redis: Redis) {
    if (!('cdcReadBuffer' in redis))
      redis.defineCommand('cdcRead', { numberOfKeys: 2, lua: READ_AND_VERSION });
  }

  /**
   * bump=true takes a fresh version (capture, snapshot, repair). bump=false only reads (verifier): the
   * returned version is then the server clock and means nothing. A value over `guardBytes` (STRLEN, or MEMORY
   * USAGE's estimate for collections; 0 = no guard) is not read at all, so a huge key never lands in memory.
   */
  async read(keys: readonly Buffer[], bump = true, guardBytes = 0): Promise<KeyState[]> {
    if (keys.length === 0) return [];
    const pipeline = this.redis.pipeline();
    const scripted = pipeline as unknown as ScriptedRedis;
    for (const key of keys)
      void scripted.cdcReadBuffer(key, versionKeyFor(key), bump ? '1' : '0', String(guardBytes));
    const replies = (await pipeline.exec()) ?? [];
    return replies.map(([err, reply], i) => {
      if (err) throw err;
      return parseReply(keys[i] as Buffer, reply as RawReply);
    });
  }
}

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

export function parseReply(
  key: Buffer,
  [rawType, rawVersion, pttl, rawNow, raw, oversized]: RawReply,
): KeyState {
  const type = rawType.toString() as KeyState['type'];
  const readAtMs = Number(rawNow.toString());
  const base = {
    key,
    type,
    version: BigInt(rawVersion.toString()),
    expireAtMs: pttl >= 0 ? readAtMs + pttl : null,
    readAtMs,
  };
  if (oversized !== undefined) return { ...base, value: null, oversizedBytes: oversized };
  const list = Array.isArray(raw) ? raw : [];
  switch (type) {
    case 'string':
      return { ...base, value: { type, data: raw as Buffer } };
    case 'hash':
      return { ...base, value: { type, fields: pairs(list, (f, v) => [f, v] as const) } };
    case 'list':
      return { ...base, value: { type, items: list } };
    case 'set':
      return { ...base, value: { type, members: list } };
    case 'zset':
      return { ...base, value: { type, members: pairs(list, (m, s) => [m, parseScore(s)] as const) } };
    case 'none':
    case 'stream':
    default:
      return { ...base, value: null };
  }
}
