import { describe, expect, it } from 'vitest';
import { CLUSTER_SLOTS, formatSlots, parseClusterShards, shardOf, topologyChange } from './cluster-topology';

const node = (id: string, port: number, role: 'master' | 'replica', health = 'online') => [
  'id',
  id,
  'port',
  port,
  'ip',
  '127.0.0.1',
  'endpoint',
  '127.0.0.1',
  'role',
  role,
  'replication-offset',
  100,
  'health',
  health,
];
const shard = (slots: number[], ...nodes: unknown[][]) => ['slots', slots, 'nodes', nodes];

/** Three shards as CLUSTER SHARDS on Redis 7.0 returns them (RESP2, flat maps). */
const three = [
  shard([5461, 10922], node('b', 7002, 'master'), node('e', 7005, 'replica')),
  shard([0, 5460], node('a', 7001, 'master'), node('d', 7004, 'replica')),
  shard([10923, 16383], node('c', 7003, 'master'), node('f', 7006, 'replica')),
];

describe('parseClusterShards', () => {
  it('reads shards in slot order, their primary, replicas and every slot’s owner', () => {
    const t = parseClusterShards(three);
    expect(t.shards.map((s) => [s.id, s.primary.port, s.replicas.map((r) => r.port), s.ranges])).toEqual([
      ['a', 7001, [7004], [[0, 5460]]],
      ['b', 7002, [7005], [[5461, 10922]]],
      ['c', 7003, [7006], [[10923, 16383]]],
    ]);
    expect(shardOf(t, 0)?.id).toBe('a');
    expect(shardOf(t, 5461)?.id).toBe('b');
    expect(shardOf(t, CLUSTER_SLOTS - 1)?.id).toBe('c');
  });

  it('keeps a shard with several ranges and one with none (a primary just added)', () => {
    const t = parseClusterShards([
      shard([0, 99, 200, 299], node('a', 7001, 'master')),
      shard([], node('g', 7007, 'master')),
      shard([100, 199, 300, 16383], node('b', 7002, 'master')),
    ]);
    expect(t.shards.map((s) => s.id)).toEqual(['a', 'b', 'g']);
    expect([shardOf(t, 150)?.id, shardOf(t, 250)?.id, shardOf(t, 5000)?.id]).toEqual(['b', 'a', 'b']);
  });

  it('during a failover takes the healthy master; a slot nobody serves has no owner', () => {
    const t = parseClusterShards([
      shard([0, 100], node('old', 7001, 'master', 'failed'), node('new', 7004, 'master')),
    ]);
    expect(t.shards[0]?.primary.id).toBe('new');
    expect(t.shards[0]?.replicas).toEqual([]);
    expect(shardOf(t, 101)).toBeUndefined();
  });
});

describe('topologyChange', () => {
  const before = parseClusterShards(three);

  it('is empty when nothing moved', () => {
    expect(topologyChange(before, parseClusterShards(three))).toEqual({
      slots: [],
      newShards: [],
      goneShards: [],
    });
  });

  it('a failover changes every slot of that shard (its primary, and so its history, is new)', () => {
    const after = parseClusterShards([
      three[0],
      shard([0, 5460], node('d', 7004, 'master'), node('a', 7001, 'replica')),
      three[2],
    ]);
    const c = topologyChange(before, after);
    expect(c.slots.length).toBe(5461);
    expect(formatSlots(c.slots)).toBe('0-5460');
    expect(c).toMatchObject({ newShards: ['d'], goneShards: ['a'] });
  });

  it('a reshard changes exactly the moved slots', () => {
    const after = parseClusterShards([
      shard([5461, 10922, 0, 9], node('b', 7002, 'master')),
      shard([10, 5460], node('a', 7001, 'master')),
      three[2],
    ]);
    expect(formatSlots(topologyChange(before, after).slots)).toBe('0-9');
  });
});

describe('formatSlots', () => {
  it('collapses runs', () => {
    expect(formatSlots([1, 2, 3, 7, 9, 10])).toBe('1-3,7,9-10');
    expect(formatSlots([])).toBe('');
  });
});
