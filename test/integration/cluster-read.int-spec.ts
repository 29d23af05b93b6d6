import { loadConfig } from '@cdc/config';
import { splitVersion } from '@cdc/contracts';
import { ClusterSource, ClusterVersionedReader, keyHashSlot } from '@cdc/redis';
import { startCluster, type TestCluster } from '@cdc/testing';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Versioned reads on a private Redis Cluster (3 primaries, 1 replica each): keys are read on the node that serves
 * their slot, per slot epochs never go back when a slot moves to another shard or its shard fails over, and a
 * redirect (or a replica's "missing" for a key that moved) is never a value.
 */

let cluster: TestCluster;
const sources: ClusterSource[] = [];
let writer: InstanceType<typeof Redis.Cluster>;

const open = async (readFrom: 'primary' | 'replica') => {
  const cfg = loadConfig({
    REDIS_URL: `redis://${cluster.seeds.split(',')[0]},${cluster.seeds.split(',').slice(1).join(',')}`,
    REDIS_READ_FROM: readFrom,
  }).require('redis').redis;
  const source = await ClusterSource.open(cfg, `int-cluster-${readFrom}`);
  sources.push(source);
  return { source, reader: new ClusterVersionedReader(source) };
};

beforeAll(async () => {
  cluster = await startCluster();
  writer = new Redis.Cluster(
    cluster.seeds.split(',').map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })),
  );
});

afterAll(async () => {
  for (const s of sources) s.close();
  writer?.disconnect();
  await cluster?.stop();
});

const keysOver = (prefix: string, n: number) =>
  Array.from({ length: n }, (_, i) => Buffer.from(`${prefix}:${i}`));

describe('reads on a Redis Cluster', () => {
  it('reads keys of every shard with one call per slot, on the primary and on the replicas', async () => {
    const keys = keysOver('cr:all', 300);
    for (const [i, k] of keys.entries()) await writer.set(k, `v${i}`);
    const slots = new Set(keys.map(keyHashSlot));
    expect(slots.size).toBeGreaterThan(200);
    for (const mode of ['primary', 'replica'] as const) {
      const { source, reader } = await open(mode);
      expect(source.topology.shards).toHaveLength(3);
      // Replicas may lag the writer a moment: read until every value is there.
      let states = await reader.read(keys);
      for (let i = 0; i < 50 && states.some((s) => s.type !== 'string'); i++)
        states = await reader.read(keys);
      expect(states.map((s) => (s.value?.type === 'string' ? s.value.data.toString() : s.type))).toEqual(
        keys.map((_, i) => `v${i}`),
      );
      for (const s of states) expect(splitVersion(s.version).epoch).toBeGreaterThan(0n);
    }
  });

  it('a slot resharded to another shard: reads follow it, and its versions only grow', async () => {
    const { source, reader } = await open('primary');
    const key = Buffer.from('cr:moving');
    await writer.set(key, 'before');
    const [before] = await reader.read([key]);
    const slot = keyHashSlot(key);
    const from = source.topology.shards.find((s) => s.ranges.some(([a, b]) => slot >= a && slot <= b));
    const to = source.topology.shards.find((s) => s !== from);
    // Move every slot of the source shard, this one included, to another shard.
    const count = from?.ranges.reduce((n, [a, b]) => n + b - a + 1, 0) ?? 0;
    await cluster.reshard(from?.id as string, to?.id as string, count);
    await writer.set(key, 'after');
    const [after] = await reader.read([key]);
    expect(after?.value).toEqual({ type: 'string', data: Buffer.from('after') });
    expect(after?.version).toBeGreaterThan(before?.version ?? 0n);
    // The marker moved with the slot and was raised past on its new shard.
    expect(splitVersion(after?.version ?? 0n).epoch).toBeGreaterThan(
      splitVersion(before?.version ?? 0n).epoch,
    );
  });

  it('a shard failed over (CLUSTER FAILOVER on its replica): the next version is higher on the new history', async () => {
    const { source, reader } = await open('primary');
    const key = Buffer.from('cr:failover');
    await writer.set(key, 'one');
    const [before] = await reader.read([key]);
    const shard = source.topology.shards.find((s) =>
      s.ranges.some(([a, b]) => keyHashSlot(key) >= a && keyHashSlot(key) <= b),
    );
    const replica = shard?.replicas[0];
    const c = new Redis({ port: replica?.port, host: '127.0.0.1' });
    await c.call('CLUSTER', 'FAILOVER');
    c.disconnect();
    await cluster.waitStable();
    await writer.set(key, 'two');
    const [after] = await reader.read([key]);
    expect(after?.value).toEqual({ type: 'string', data: Buffer.from('two') });
    expect(after?.version).toBeGreaterThan(before?.version ?? 0n);
  });

  it('on a replica, a key already migrated away reads as neither missing nor stale: it waits for the move', async () => {
    const { source, reader } = await open('replica');
    const key = Buffer.from('cr:migrating');
    await writer.set(key, 'moved intact');
    // Read once first: the slot's epoch marker exists on the source, so the replica reads the key as missing
    // below (the marker is there, the key is not), and only the primary's redirect says it moved.
    let [first] = await reader.read([key]);
    for (let i = 0; i < 50 && first?.type !== 'string'; i++) [first] = await reader.read([key]);
    expect(first?.type).toBe('string');
    const slot = keyHashSlot(key);
    const from = source.topology.shards.find((s) => s.ranges.some(([a, b]) => slot >= a && slot <= b));
    const to = source.topology.shards.find((s) => s !== from && s.ranges.length > 0);
    const [src, dst] = [from?.primary, to?.primary];
    const cli = (port?: number) => new Redis({ port, host: '127.0.0.1' });
    const [a, b] = [cli(src?.port), cli(dst?.port)];
    try {
      // By hand, the way redis-cli --cluster reshard does it, and stopped half way: the key is on the target.
      await b.call('CLUSTER', 'SETSLOT', slot, 'IMPORTING', src?.id as string);
      await a.call('CLUSTER', 'SETSLOT', slot, 'MIGRATING', dst?.id as string);
      await a.call('MIGRATE', dst?.host as string, dst?.port as number, '', 0, 5000, 'KEYS', key);
      const reading = reader.read([key]);
      await new Promise((r) => setTimeout(r, 500));
      // Then the rest of the slot (our epoch marker is in it) and the slot itself.
      const rest = (await a.call('CLUSTER', 'GETKEYSINSLOT', slot, 100)) as string[];
      if (rest.length > 0)
        await a.call('MIGRATE', dst?.host as string, dst?.port as number, '', 0, 5000, 'KEYS', ...rest);
      for (const c of [a, b]) await c.call('CLUSTER', 'SETSLOT', slot, 'NODE', dst?.id as string);
      const [state] = await reading;
      expect(state?.value).toEqual({ type: 'string', data: Buffer.from('moved intact') });
    } finally {
      a.disconnect();
      b.disconnect();
    }
  });
});
