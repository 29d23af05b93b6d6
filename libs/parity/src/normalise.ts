import type { RedisValue } from '@cdc/contracts';

/**
 * A canonical, order-independent form of a Redis value, so two reads of the same state compare equal whatever
 * order HGETALL/SMEMBERS or a DynamoDB map returned. Lists keep their order: order is their meaning.
 */
export function normalise(value: RedisValue | null): string {
  if (value === null) return 'absent';
  const hex = (b: Buffer): string => b.toString('hex');
  switch (value.type) {
    case 'string':
      return `string:${hex(hyperLogLogWithoutCache(value.data))}`;
    case 'list':
      return `list:${value.items.map(hex).join(',')}`;
    case 'hash':
      return `hash:${value.fields
        .map(([f, v]) => `${hex(f)}=${hex(v)}`)
        .sort()
        .join(',')}`;
    case 'set':
      return `set:${value.members.map(hex).sort().join(',')}`;
    case 'zset':
      return `zset:${value.members
        .map(([m, s]) => `${hex(m)}=${s}`)
        .sort()
        .join(',')}`;
  }
}

export function sameValue(a: RedisValue | null, b: RedisValue | null): boolean {
  return normalise(a) === normalise(b);
}

/**
 * A HyperLogLog is a string whose header caches the last PFCOUNT (bytes 8..15). PFCOUNT rewrites that cache
 * without any keyspace event, so two copies of the same HLL may differ only there: compare without it.
 * https://github.com/redis/redis/blob/7.0/src/hyperloglog.c (struct hllhdr: "HYLL", encoding, 3 unused, 8 card)
 */
function hyperLogLogWithoutCache(data: Buffer): Buffer {
  if (data.length < 16 || data.toString('latin1', 0, 4) !== 'HYLL') return data;
  const copy = Buffer.from(data);
  copy.fill(0, 8, 16);
  return copy;
}
