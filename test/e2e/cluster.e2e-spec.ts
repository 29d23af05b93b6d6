import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DeleteItemCommand } from '@aws-sdk/client-dynamodb';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule, CaptureService, type GapCause, slotsOf } from '@cdc/capture';
import type { CdcConfig } from '@cdc/config';
import { createDynamoClient } from '@cdc/dynamo';
import { ClusterSource, ClusterVersionedReader, keyHashSlot } from '@cdc/redis';
import {
  bootPipeline,
  exited,
  expectReplicated,
  type ItemHistory,
  readTopicEvents,
  startCluster,
  startIsolatedDynamoDbLocal,
  testConfig,
  type TestCluster,
  type TestDynamoDbLocal,
  uniqueId,
  versionRegressions,
  waitFor,
  watchItemHistory,
} from '@cdc/testing';
import type { INestApplicationContext } from '@nestjs/common';
import Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Capture on a Redis Cluster (3 primaries with 1 replica each, private redis-servers), each test under a steady
 * write load over keys of every slot: a subscriber connection killed on one shard, a failover of each kind, all
 * of one shard's slots resharded to the others while its keys are written, a fourth shard added and the slots
 * rebalanced. In each: the gap names exactly the slots that changed, nothing is lost (the final table equals
 * Redis for every key), and no item's version goes back in the table's stream.
 */

const KEYS = 200;
const HEAL_MS = 150_000;

let cluster: TestCluster;
let ddb: TestDynamoDbLocal;
let app: INestApplicationContext;
let capture: CaptureService;
let config: CdcConfig;
let writer: InstanceType<typeof Redis.Cluster>;
let history: ItemHistory;
let source: ClusterSource;

beforeAll(async () => {
  [cluster, ddb] = await Promise.all([startCluster(), startIsolatedDynamoDbLocal()]);
  const seeds = cluster.seeds.split(',');
  config = testConfig({
    DYNAMODB_ENDPOINT: ddb.endpoint,
    REDIS_URL: `redis://${seeds[0]},${seeds.slice(1).join(',')}`,
    CDC_HEARTBEAT_INTERVAL_MS: '300',
    CDC_HEARTBEAT_TIMEOUT_MS: '2000',
    CDC_TOPIC_PARTITIONS: '2',
  });
  ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
  capture = app.get(CaptureService);
  writer = new Redis.Cluster(seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) })));
  history = await watchItemHistory(config);
  source = await ClusterSource.open(config.require('redis').redis, 'e2e-cluster-check');
});

afterAll(async () => {
  await app?.close();
  await history?.stop();
  source?.close();
  writer?.disconnect();
  await cluster?.stop();
  await ddb?.stop();
});

/** SETs every key in turn to an increasing number (no pipeline: keys of many slots), every 10th a DEL. */
function startWriter(keys: readonly string[]): { stop(): Promise<number> } {
  let running = true;
  let seq = 0;
  const loop = (async () => {
    while (running) {
      // ~250 writes/s: what DynamoDB Local keeps up with on a loaded 2-core box, so the checks wait for capture.
      const batch = Array.from({ length: 10 }, () => {
        seq++;
        const key = keys[(seq * 7919) % keys.length] as string;
        return (seq % 10 === 0 ? writer.del(key) : writer.set(key, String(seq))).catch(() => undefined);
      });
      await Promise.all(batch);
      await new Promise((r) => setTimeout(r, 40));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return seq;
    },
  };
}

const keysOf = (scenario: string) =>
  Array.from({ length: KEYS }, (_, i) => `${config.sourceId}:${scenario}:${i}`);

async function settle(keys: string[], load: { stop(): Promise<number> }, ms = 1_000): Promise<void> {
  await new Promise((r) => setTimeout(r, ms));
  expect(await load.stop()).toBeGreaterThan(0);
  await expectReplicated(config, new ClusterVersionedReader(source), keys, { timeoutMs: HEAL_MS });
  expect(versionRegressions(history)).toEqual([]);
}

async function gapOf(causes: GapCause[], after: number) {
  return waitFor(
    `a ${causes.join(' or ')} gap`,
    () => capture.detectedGaps.find((g) => g.at >= after && causes.includes(g.cause)),
    { timeoutMs: 60_000 },
  );
}

const nodeOf = (port: number) => new Redis({ port, host: '127.0.0.1' });
const shardOfKey = (key: string) =>
  source.topology.shards.find((s) =>
    s.ranges.some(([a, b]) => keyHashSlot(Buffer.from(key)) >= a && keyHashSlot(Buffer.from(key)) <= b),
  );

const CLI = join(__dirname, '..', '..', 'bin', 'cdc.js');

/** Runs the `cdc` CLI (the built one) against the cluster; returns its exit code and its --json output. */
async function cdc(
  args: string[],
  sourceId = config.sourceId,
): Promise<{ code: number | null; out: unknown }> {
  const home = mkdtempSync(join(tmpdir(), 'cdc-cluster-'));
  const { redis, kafka } = config.require('redis', 'kafka');
  const child = spawn(process.execPath, [CLI, ...args, '--json'], {
    env: {
      ...process.env,
      CDC_HOME: home,
      REDIS_URL: redis.url,
      KAFKA_BROKERS: kafka.brokers.join(','),
      DYNAMODB_ENDPOINT: config.dynamo.endpoint,
      CDC_SOURCE_ID: sourceId,
      CDC_TOPIC_PARTITIONS: '2',
      CDC_VERIFIER_GRACE_MS: '500',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const code = await exited(child);
  rmSync(home, { recursive: true, force: true });
  if (!out.trim()) throw new Error(`cdc ${args.join(' ')} printed nothing (exit ${code}); stderr:\n${err}`);
  return { code, out: JSON.parse(out) as unknown };
}

// Under the whole suite a reshard or a rebalance with its rescans can take minutes on this box: the bound is
// generous, the checks inside wait for state, never for a time.
describe('capture on a Redis Cluster', { timeout: 300_000 }, () => {
  it('subscribes on every shard and carries keys of every slot', async () => {
    expect(capture.readerNode?.split(',')).toHaveLength(3);
    const keys = keysOf('steady');
    expect(new Set(keys.map((k) => keyHashSlot(Buffer.from(k)))).size).toBeGreaterThan(150);
    const load = startWriter(keys);
    await settle(keys, load);
  });

  it('cdc verify --repair and cdc snapshot scan every shard (SCAN per node), and repair through the log', async () => {
    const keys = keysOf('scan');
    await Promise.all(keys.map((k, i) => writer.set(k, `v${i}`)));
    await expectReplicated(config, new ClusterVersionedReader(source), keys, { timeoutMs: HEAL_MS });
    // Items lost behind capture's back: the two-sided scan must find them on whichever shard holds the key.
    const lost = keys.filter((_, i) => i % 20 === 0);
    const dynamo = createDynamoClient(config.dynamo);
    for (const k of lost)
      await dynamo.send(new DeleteItemCommand({ TableName: config.table, Key: { pk: { S: k } } }));
    dynamo.destroy();
    const match = `${config.sourceId}:scan:*`;
    const repair = await cdc(['verify', '--repair', '--match', match]);
    expect(repair.code).toBe(2);
    expect(repair.out).toMatchObject({ keysScanned: keys.length, classes: { missing: lost.length } });
    expect((repair.out as { repaired: number }).repaired).toBe(lost.length);
    await expectReplicated(config, new ClusterVersionedReader(source), keys, { timeoutMs: HEAL_MS });
    const again = await cdc(['verify', '--match', match]);
    expect(again.code).toBe(0);
    expect(again.out).toMatchObject({ mismatches: 0, keysScanned: keys.length });

    // A snapshot into another source's topic: every key of every shard, once, origin=snapshot.
    const other = uniqueId('t');
    const snap = await cdc(['snapshot', '--match', match], other);
    expect(snap.code).toBe(0);
    expect(snap.out).toMatchObject({ completed: true, captured: keys.length });
    const events = await readTopicEvents(testConfig({ CDC_SOURCE_ID: other }));
    expect(new Set(events.map((e) => e.key.toString()))).toEqual(new Set(keys));
    expect(new Set(events.map((e) => e.origin))).toEqual(new Set(['snapshot']));
  });

  it('capture’s subscriber killed on one shard: a gap of exactly that shard’s slots, healed', async () => {
    const keys = keysOf('kill');
    await source.refresh();
    const shard = source.topology.shards[1];
    const load = startWriter(keys);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const c = nodeOf(shard?.primary.port as number);
    await c.client('KILL', 'TYPE', 'pubsub');
    c.disconnect();
    const gap = await gapOf(['reconnect'], t0);
    expect(gap.slots).toEqual(slotsOf(shard as never));
    await settle(keys, load);
  });

  it('CLUSTER FAILOVER on a replica: a failover gap of that shard’s slots, and nothing lost', async () => {
    const keys = keysOf('failover');
    await source.refresh();
    const shard = shardOfKey(keys[0] as string);
    const load = startWriter(keys);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const c = nodeOf(shard?.replicas[0]?.port as number);
    // A manual failover gives up silently when the replica cannot catch up in time (a loaded box): ask again.
    await waitFor(
      'the replica to take over',
      async () => {
        if (((await c.call('ROLE')) as string[])[0] === 'master') return true;
        await c.call('CLUSTER', 'FAILOVER');
        return undefined;
      },
      { timeoutMs: 60_000, intervalMs: 3_000 },
    );
    c.disconnect();
    const gap = await gapOf(['failover'], t0);
    expect(gap.slots).toEqual(slotsOf(shard as never));
    await cluster.waitStable();
    await settle(keys, load);
  });

  it('a primary killed: its replica takes over, the gap names its slots, and nothing written after is lost', async () => {
    const keys = keysOf('killed');
    await source.refresh();
    const shard = source.topology.shards[2];
    const victim = cluster.nodes.find((n) => n.port === shard?.primary.port);
    const load = startWriter(keys);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    await victim?.kill();
    const gap = await gapOf(['failover'], t0);
    expect(gap.slots).toEqual(slotsOf(shard as never));
    await victim?.start();
    await cluster.waitStable();
    await settle(keys, load, 2_000);
  });

  it('every slot of one shard resharded to the others while its keys are written: a reshard gap of those slots', async () => {
    const keys = keysOf('reshard');
    await source.refresh();
    const from = shardOfKey(keys[0] as string);
    const movedSlots = slotsOf(from as never);
    const others = source.topology.shards.filter((s) => s !== from && s.ranges.length > 0);
    const load = startWriter(keys);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const half = Math.floor(movedSlots.length / 2);
    await cluster.reshard(from?.id as string, others[0]?.id as string, half);
    await cluster.reshard(from?.id as string, others[1]?.id as string, movedSlots.length - half);
    await waitFor('every moved slot in a reshard gap', () => {
      const named = new Set(
        capture.detectedGaps.filter((g) => g.at >= t0 && g.cause === 'reshard').flatMap((g) => g.slots ?? []),
      );
      return movedSlots.every((s) => named.has(s)) ? named : undefined;
    });
    // Only the moved slots were named: no slot that stayed where it was.
    const named = capture.detectedGaps
      .filter((g) => g.at >= t0 && g.cause === 'reshard')
      .flatMap((g) => g.slots ?? []);
    expect(named.every((s) => movedSlots.includes(s))).toBe(true);
    await settle(keys, load);
    // The emptied shard removed (its nodes forgotten and shut down): capture goes on with the others.
    const emptied = (await cluster.topology()).filter((r) => r.slots === 0 && r.role === 'master');
    const gone = [from?.primary.id, ...(from?.replicas.map((r) => r.id) ?? []), ...emptied.map((r) => r.id)];
    await cluster.removeNodes([...new Set(gone.filter((id): id is string => id !== undefined))]);
    const after = startWriter(keys);
    await settle(keys, after);
    expect(capture.readerNode?.split(',')).toHaveLength(2);
  });

  it('a shard added and the slots rebalanced onto it: capture subscribes there and loses nothing', async () => {
    const keys = keysOf('grow');
    const load = startWriter(keys);
    await new Promise((r) => setTimeout(r, 300));
    const t0 = Date.now();
    const [added] = await cluster.addShard(1);
    await cluster.rebalance();
    await gapOf(['reshard'], t0);
    // (The shard emptied above was removed: the new primary is the only empty one, so the rebalance fills it.)
    await waitFor('capture to read on the new shard', () => capture.readerNode?.split(','), {
      accept: (nodes) => nodes.includes(`127.0.0.1:${added?.port}`),
    });
    await settle(keys, load);
  });
});
