import { connect, createServer, type Server, type Socket } from 'node:net';
import { loadConfig } from '@cdc/config';
import { splitVersion } from '@cdc/contracts';
import {
  ClusterTopologyError,
  EPOCH_MARKER_KEY,
  openSourceAccess,
  parseMarker,
  readReplication,
  RedisSource,
  SourceTopologyError,
  VERSION_COUNTER_KEY,
} from '@cdc/redis';
import {
  findFreePort,
  type ReplicaSet,
  startRedisServer,
  startReplicaSet,
  type TestRedisServer,
  waitFor,
} from '@cdc/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Versioned reads on a replica, on private redis-servers (a primary and two replicas): the version is the
 * epoch the read saw and the replica's offset, taken in one read-only script; the epoch is raised on the
 * primary and waited for on the replica; a broken history forces a new epoch; and what is not one replica of
 * our primary is refused with a message that names it.
 */

let set: ReplicaSet;
const sources: RedisSource[] = [];

const replicaConfig = (primary: string, replica: string) =>
  loadConfig({ REDIS_URL: primary, REDIS_READ_FROM: 'replica', REDIS_REPLICA_URL: replica }).require('redis')
    .redis;

async function open(primary: string, replica: string): Promise<RedisSource> {
  const source = await RedisSource.open(replicaConfig(primary, replica), 'int-replica-read');
  sources.push(source);
  return source;
}

beforeAll(async () => {
  set = await startReplicaSet({ replicas: 2 });
});

afterAll(async () => {
  for (const s of sources) s.close();
  await set?.stop();
});

describe('versioned reads on a replica', () => {
  it('take (epoch, replica offset) atomically with the value, and grow with the primary’s history', async () => {
    const [replica] = set.replicas as [TestRedisServer];
    const source = await open(set.primary.url, replica.url);
    const epoch = await source.epochs.start();
    // The raise is a write on the primary that the replica replayed: its marker says so.
    expect(parseMarker(await source.reader.get(EPOCH_MARKER_KEY))?.epoch).toBe(epoch);
    const reader = source.versionedReader();
    const key = Buffer.from('rr:k');
    await source.control.set(key, 'v1');
    const first = await waitFor('v1 on the replica', async () => {
      const [s] = await reader.read([key]);
      return s?.value?.type === 'string' && s.value.data.toString() === 'v1' ? s : undefined;
    });
    const offset1 = (await readReplication(source.reader)).offset;
    expect(splitVersion(first.version).epoch).toBe(epoch);
    expect(splitVersion(first.version).position).toBeLessThanOrEqual(offset1);

    await source.control.set(key, 'v2');
    const second = await waitFor('v2 on the replica', async () => {
      const [s] = await reader.read([key]);
      return s?.value?.type === 'string' && s.value.data.toString() === 'v2' ? s : undefined;
    });
    expect(second.version).toBeGreaterThan(first.version);
    // The replica wrote nothing: no position counter is created in replica mode.
    expect(await source.control.exists(VERSION_COUNTER_KEY)).toBe(0);
  });

  it('two readers on two replicas of one history order the same write the same way', async () => {
    const [a, b] = set.replicas as [TestRedisServer, TestRedisServer];
    const [ra, rb] = [await open(set.primary.url, a.url), await open(set.primary.url, b.url)];
    await ra.epochs.start();
    const key = Buffer.from('rr:two');
    await ra.control.set(key, 'x');
    await set.waitSynced(a);
    await set.waitSynced(b);
    const [[sa], [sb]] = await Promise.all([
      ra.versionedReader().read([key]),
      rb.versionedReader().read([key]),
    ]);
    // Same epoch (the newest marker) and the same offset: the same state gets the same version (a duplicate).
    expect(sa?.version).toBe(sb?.version);
  });

  it('after the primary restarts without persistence (new history, offset reset), reads take a higher epoch', async () => {
    const [replica] = set.replicas as [TestRedisServer];
    const source = await open(set.primary.url, replica.url);
    await source.epochs.start();
    const key = Buffer.from('rr:restart');
    await source.control.set(key, 'before');
    const reader = source.versionedReader();
    const before = await waitFor('before on the replica', async () => {
      const [s] = await reader.read([key]);
      return s?.value ? s : undefined;
    });
    const replidBefore = (await readReplication(source.reader)).replid;
    await set.primary.restart();
    await waitFor('the primary back', async () =>
      (await source.control.ping()) === 'PONG' ? true : undefined,
    );
    await source.control.set(key, 'after');
    for (const r of set.replicas) await set.waitSynced(r);
    const after = await waitFor('after on the replica', async () => {
      const [s] = await reader.read([key]);
      return s?.value?.type === 'string' && s.value.data.toString() === 'after' ? s : undefined;
    });
    expect((await readReplication(source.reader)).replid).not.toBe(replidBefore);
    expect(splitVersion(after.version).position).toBeLessThan(splitVersion(before.version).position);
    expect(after.version).toBeGreaterThan(before.version);
  });
});

describe('switching a source between reading modes (upgrade in place, and back)', () => {
  it('each switch orders after everything the other mode versioned, even without a write in between', async () => {
    const [replica] = set.replicas as [TestRedisServer];
    const primaryCfg = loadConfig({ REDIS_URL: set.primary.url }).require('redis').redis;
    const onPrimary = await RedisSource.open(primaryCfg, 'int-mode-primary');
    sources.push(onPrimary);
    const key = Buffer.from('rr:modes');
    await onPrimary.control.set(key, 'same');
    // A version of the scheme before epochs (epoch 0, a µs clock): what an upgraded deployment's table holds.
    const legacy = BigInt(Date.now() + 3_600_000) * 1000n;
    await onPrimary.epochs.start();
    const [p1] = await onPrimary.versionedReader().read([key]);
    expect(p1?.version).toBeGreaterThan(legacy);

    await set.waitSynced(replica);
    const onReplica = await open(set.primary.url, replica.url);
    await onReplica.epochs.start();
    const [r1] = await onReplica.versionedReader().read([key]);
    expect(r1?.version).toBeGreaterThan(p1?.version ?? 0n);

    // Back to the primary: the replica-mode marker is raised past before anything is versioned.
    const again = await RedisSource.open(primaryCfg, 'int-mode-primary-again');
    sources.push(again);
    const [p2] = await again.versionedReader().read([key]);
    expect(p2?.version).toBeGreaterThan(r1?.version ?? 0n);
    expect(parseMarker(await again.control.get(EPOCH_MARKER_KEY))?.mode).toBe('primary');
  });
});

describe('what is not one replica of our primary is refused, by name', () => {
  let proxy: Server | undefined;
  let stranger: TestRedisServer | undefined;

  afterAll(async () => {
    proxy?.close();
    await stranger?.stop();
  });

  it('a reader endpoint that round-robins over two replicas', async () => {
    const targets = set.replicas.map((r) => r.port);
    let next = 0;
    const port = await findFreePort();
    proxy = createServer((client: Socket) => {
      const upstream = connect(targets[next++ % targets.length] as number, '127.0.0.1');
      client.pipe(upstream).pipe(client);
      client.on('error', () => upstream.destroy());
      upstream.on('error', () => client.destroy());
    });
    await new Promise<void>((resolve) => proxy?.listen(port, '127.0.0.1', resolve));
    const err = await open(set.primary.url, `redis://127.0.0.1:${port}`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceTopologyError);
    expect((err as Error).message).toMatch(/reached 2 different Redis servers .* round-robins/);
    expect((err as Error).message).toContain(`127.0.0.1:${port}`);
  });

  it('a Redis Cluster node is read as a cluster; one that serves no slot yet is refused, by name', async () => {
    const node = await startRedisServer({
      args: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf'],
    });
    try {
      for (const readFrom of ['primary', 'replica']) {
        const cfg = loadConfig({ REDIS_URL: node.url, REDIS_READ_FROM: readFrom }).require('redis').redis;
        const direct = await RedisSource.open(cfg, 'int-cluster').catch((e: unknown) => e);
        expect(direct).toBeInstanceOf(SourceTopologyError);
        const err = await openSourceAccess(cfg, 'int-cluster').catch((e: unknown) => e);
        expect(err).toBeInstanceOf(ClusterTopologyError);
        expect((err as Error).message).toContain(`127.0.0.1:${node.port} serves no slot`);
      }
    } finally {
      await node.stop();
    }
  });

  it('a primary given as the replica', async () => {
    const err = await open(set.primary.url, set.primary.url).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(SourceTopologyError);
    expect((err as Error).message).toMatch(/is a primary, not a replica/);
  });

  it('a replica of another primary: the first epoch never shows there, and the error says where it replicates from', async () => {
    stranger = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
    const [replica] = set.replicas as [TestRedisServer];
    const source = await RedisSource.open(replicaConfig(stranger.url, replica.url), 'int-replica-read', {
      epochs: { showTimeoutMs: 500 },
    });
    sources.push(source);
    const err = await source.epochs.start().catch((e: unknown) => e);
    expect((err as Error).message).toMatch(
      new RegExp(`did not show on the replica .* replicates from 127\\.0\\.0\\.1:${set.primary.port}`),
    );
  });
});
