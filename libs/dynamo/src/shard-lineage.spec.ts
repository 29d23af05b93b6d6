import { describe, expect, it } from 'vitest';
import { isAfter, readyShards } from './shard-lineage';

describe('readyShards', () => {
  const shards = [
    { shardId: 'a' },
    { shardId: 'b', parentShardId: 'a' },
    { shardId: 'c', parentShardId: 'b' },
    { shardId: 'd', parentShardId: 'trimmed-away' },
  ];

  it('reads parents before children; an unknown parent does not block', () => {
    expect(readyShards(shards, new Set(), new Set()).map((s) => s.shardId)).toEqual(['a', 'd']);
    expect(readyShards(shards, new Set(['a']), new Set(['d'])).map((s) => s.shardId)).toEqual(['b']);
    expect(readyShards(shards, new Set(['a', 'b', 'd']), new Set()).map((s) => s.shardId)).toEqual(['c']);
  });
});

describe('isAfter', () => {
  it('compares sequence numbers beyond 2^53 exactly', () => {
    expect(isAfter('100000000000000000000001', '100000000000000000000000')).toBe(true);
    expect(isAfter('100000000000000000000000', '100000000000000000000000')).toBe(false);
    expect(isAfter('9', undefined)).toBe(true);
  });
});
