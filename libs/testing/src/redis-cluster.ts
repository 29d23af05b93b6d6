import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { startRedisServer, type TestRedisServer } from './redis-server';
import { waitFor } from './wait';

const run = promisify(execFile);

/**
 * A private Redis Cluster from redis-server (`--cluster-enabled yes`, each node in its own directory, nothing
 * persisted, keyspace events on) and `redis-cli --cluster create`, for cluster-mode tests. Test helper only.
 */
export interface TestCluster {
  readonly nodes: readonly TestRedisServer[];
  /** "127.0.0.1:p1,127.0.0.1:p2,...": seeds for REDIS_URL-style settings. */
  readonly seeds: string;
  /** CLUSTER NODES as parsed rows (fresh each call, from the first node that answers). */
  topology(): Promise<ClusterNodeRow[]>;
  /** Starts `count` new empty nodes and adds them (the first as a primary, the rest as its replicas). */
  addShard(replicas?: number): Promise<TestRedisServer[]>;
  /** Moves `slots` slots from one primary to another (`redis-cli --cluster reshard`). */
  reshard(fromId: string, toId: string, slots: number): Promise<void>;
  /**
   * Removes nodes that serve no slot (`redis-cli --cluster del-node`: the others forget them, they shut down),
   * e.g. a shard whose slots were all resharded away.
   */
  removeNodes(ids: readonly string[]): Promise<void>;
  /** Spreads slots evenly, empty primaries included (`redis-cli --cluster rebalance`). */
  rebalance(): Promise<void>;
  /** Waits until every node agrees on one slot map covering all slots, and every replica is attached. */
  waitStable(): Promise<void>;
  stop(): Promise<void>;
}

export interface ClusterNodeRow {
  readonly id: string;
  readonly port: number;
  readonly role: 'master' | 'slave';
  readonly primaryId: string | null;
  readonly failed: boolean;
  readonly slots: number;
}

export const CLUSTER_NODE_ARGS = [
  '--cluster-enabled',
  'yes',
  '--cluster-config-file',
  'nodes.conf',
  '--cluster-node-timeout',
  '3000',
  '--notify-keyspace-events',
  'KEA',
  '--repl-diskless-sync-delay',
  '0',
];

function parseNodes(text: string): ClusterNodeRow[] {
  return text
    .trim()
    .split('\n')
    .map((line) => {
      const [id = '', addr = '', flags = '', primary = '-', , , , , ...slots] = line.split(' ');
      const count = slots
        .filter((s) => !s.startsWith('['))
        .reduce((n, s) => {
          const [a, b] = s.split('-').map(Number);
          return n + ((b ?? a ?? 0) - (a ?? 0) + 1);
        }, 0);
      return {
        id,
        port: Number(addr.split('@')[0]?.split(':')[1]),
        role: flags.includes('master') ? ('master' as const) : ('slave' as const),
        primaryId: primary === '-' ? null : primary,
        failed: /fail/.test(flags),
        slots: count,
      };
    });
}

async function call<T>(port: number, fn: (c: Redis) => Promise<T>): Promise<T> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await fn(c);
  } finally {
    c.disconnect();
  }
}

async function cli(args: string[], attempts = 1): Promise<string> {
  for (let attempt = 1; ; attempt++) {
    try {
      const { stdout } = await run('redis-cli', args, { maxBuffer: 16 * 1024 * 1024, timeout: 300_000 });
      return stdout;
    } catch (err) {
      const e = err as Error & { stdout?: string; stderr?: string };
      if (attempt >= attempts)
        throw new Error(
          `redis-cli ${args.join(' ')} failed: ${e.message}\n${e.stdout ?? ''}${e.stderr ?? ''}`,
        );
      await new Promise((r) => setTimeout(r, 1_000)); // the cluster's gossip may not know a new node yet
    }
  }
}

export async function startCluster(
  opts: { primaries?: number; replicas?: number } = {},
): Promise<TestCluster> {
  const primaries = opts.primaries ?? 3;
  const replicas = opts.replicas ?? 1;
  const nodes: TestRedisServer[] = [];
  try {
    for (let i = 0; i < primaries * (1 + replicas); i++)
      nodes.push(await startRedisServer({ args: CLUSTER_NODE_ARGS }));
    await cli([
      '--cluster',
      'create',
      ...nodes.map((n) => `127.0.0.1:${n.port}`),
      '--cluster-replicas',
      String(replicas),
      '--cluster-yes',
    ]);
  } catch (err) {
    await Promise.all(nodes.map((n) => n.stop().catch(() => undefined)));
    throw err;
  }
  const alive = () => nodes.filter((n) => n.pid !== undefined);
  /** Replicas that must be attached before the cluster counts as stable (a new one first joins as a master). */
  let expectedReplicas = primaries * replicas;
  const topology = async (): Promise<ClusterNodeRow[]> => {
    for (const n of alive()) {
      try {
        return parseNodes((await call(n.port, (c) => c.call('CLUSTER', 'NODES'))) as string);
      } catch {
        // try the next node
      }
    }
    throw new Error('no cluster node answers CLUSTER NODES');
  };
  /** A live node's port (other than `not`: a node about to be removed cannot remove itself). */
  const anyPort = (not?: number) => (alive().find((n) => n.port !== not) as TestRedisServer).port;
  const waitStable = async () => {
    await waitFor(
      'the cluster to be stable (state ok, one slot map, every replica attached)',
      async () => {
        const maps = new Set<string>();
        for (const n of alive()) {
          const info = (await call(n.port, (c) => c.call('CLUSTER', 'INFO'))) as string;
          if (!info.includes('cluster_state:ok')) return undefined;
          const rows = parseNodes((await call(n.port, (c) => c.call('CLUSTER', 'NODES'))) as string);
          maps.add(
            rows
              .filter((r) => r.role === 'master' && r.slots > 0)
              .map((r) => `${r.id}:${r.slots}`)
              .sort()
              .join(','),
          );
        }
        const rows = await topology();
        const live = rows.filter((r) => !r.failed);
        const replicasOk = live.filter((r) => r.role === 'slave' && live.some((p) => p.id === r.primaryId));
        const ok = maps.size === 1 && replicasOk.length >= expectedReplicas;
        return ok ? true : undefined;
      },
      { timeoutMs: 60_000, intervalMs: 200 },
    );
  };
  await waitStable();
  return {
    nodes,
    get seeds() {
      return alive()
        .map((n) => `127.0.0.1:${n.port}`)
        .join(',');
    },
    topology,
    async addShard(replicaCount = 1) {
      const added: TestRedisServer[] = [];
      const primary = await startRedisServer({ args: CLUSTER_NODE_ARGS });
      nodes.push(primary);
      added.push(primary);
      await cli(['--cluster', 'add-node', `127.0.0.1:${primary.port}`, `127.0.0.1:${anyPort()}`]);
      await waitStable();
      const primaryId = (await topology()).find((r) => r.port === primary.port)?.id as string;
      for (let i = 0; i < replicaCount; i++) {
        const replica = await startRedisServer({ args: CLUSTER_NODE_ARGS });
        nodes.push(replica);
        added.push(replica);
        expectedReplicas++;
        await cli(
          [
            '--cluster',
            'add-node',
            `127.0.0.1:${replica.port}`,
            `127.0.0.1:${anyPort()}`,
            '--cluster-slave',
            '--cluster-master-id',
            primaryId,
          ],
          10,
        );
      }
      await waitStable();
      return added;
    },
    async reshard(fromId, toId, slots) {
      await cli([
        '--cluster',
        'reshard',
        `127.0.0.1:${anyPort()}`,
        '--cluster-from',
        fromId,
        '--cluster-to',
        toId,
        '--cluster-slots',
        String(slots),
        '--cluster-yes',
      ]);
      await waitStable();
    },
    async removeNodes(ids) {
      for (const id of ids) {
        const port = (await topology()).find((r) => r.id === id)?.port;
        await cli(['--cluster', 'del-node', `127.0.0.1:${anyPort(port)}`, id]);
        const gone = nodes.find((n) => n.port === port);
        await gone?.stop().catch(() => undefined);
      }
      expectedReplicas = (await topology()).filter((r) => r.role === 'slave' && !r.failed).length;
      await waitStable();
    },
    async rebalance() {
      await cli(['--cluster', 'rebalance', `127.0.0.1:${anyPort()}`, '--cluster-use-empty-masters']);
      await waitStable();
    },
    waitStable,
    async stop() {
      await Promise.all(nodes.map((n) => n.stop()));
    },
  };
}
