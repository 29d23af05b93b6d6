import { loadConfig } from '@cdc/config';
import {
  clusterCounterKey,
  type ControlClient,
  controlKeyOwner,
  controlKeys,
  openControlClient,
  scanControlKeys,
  unlinkControlKeys,
} from '@cdc/redis';
import { startCluster, type TestCluster } from '@cdc/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * `cdc teardown`'s Redis side on a real Redis Cluster (private redis-servers, no JVM): the reserved keys are
 * found on every primary and removed key by key (they live in different slots). The standalone path runs in
 * test/e2e/teardown.e2e-spec.ts.
 */
describe('control keys on a Redis Cluster', () => {
  let cluster: TestCluster;
  let client: ControlClient;
  const S = 'inv';
  const ours = [
    controlKeys.alive(S),
    controlKeys.gaps(S),
    controlKeys.lastScan(S, 'cdc_inv'),
    controlKeys.streamParity(S, 'cdc_inv'),
  ];
  const shared = [0, 6000, 12000].map(clusterCounterKey); // one per shard
  const theirs = controlKeys.alive('other');

  beforeAll(async () => {
    cluster = await startCluster();
    const seeds = cluster.seeds.split(',');
    client = await openControlClient(
      loadConfig({ REDIS_URL: `redis://${seeds[0]},${seeds.slice(1).join(',')}` }).require('redis').redis,
      'inventory-test',
    );
    for (const k of [...ours, ...shared, theirs]) await client.set(k, '1');
    await client.set('app:data', 'x');
  }, 120_000);

  afterAll(async () => {
    client?.disconnect();
    await cluster?.stop();
  });

  it('finds every reserved key, on the three primaries, and nothing else', async () => {
    const found = await scanControlKeys(client);
    expect(found).toHaveLength(3);
    expect(found.filter((n) => n.keys.length > 0).length).toBeGreaterThan(1); // spread over shards
    const all = found.flatMap((n) => n.keys).sort();
    expect(all).toEqual([...ours, ...shared, theirs].sort());
    expect(all.filter((k) => controlKeyOwner(k, S).kind === 'source').sort()).toEqual([...ours].sort());
  });

  it('unlinks keys of different slots and reports how many existed', async () => {
    expect(await unlinkControlKeys(client, [...ours, 'never:existed'])).toBe(ours.length);
    const left = (await scanControlKeys(client)).flatMap((n) => n.keys).sort();
    expect(left).toEqual([...shared, theirs].sort());
    expect(await client.get('app:data')).toBe('x');
  });
});
