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
      return `string:${hex(value.data)}`;
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
