import { readReplication, type ReplicationInfo } from '@cdc/redis';
import Redis from 'ioredis';
import { startRedisServer, startSentinel, type TestRedisServer } from './redis-server';
import { waitFor } from './wait';

/**
 * A private primary with replicas (and optionally Sentinels) from redis-server, for replica-mode tests: every
 * node has its own port and directory, publishes keyspace events, and nothing is persisted. Test helper only.
 */
export interface ReplicaSet {
  readonly primary: TestRedisServer;
  readonly replicas: readonly TestRedisServer[];
  readonly sentinels: readonly TestRedisServer[];
  /** The name Sentinel monitors the primary under. */
  readonly name: string;
  /** REDIS_SENTINELS for the config (empty until startSentinels). */
  readonly sentinelList: string;
  /** Starts Sentinels monitoring the primary (a majority quorum), once they know every replica and each other. */
  startSentinels(count: number): Promise<void>;
  /** Waits until `replica` replicates `primaryPort` with its link up and its offset at the primary's. */
  waitSynced(replica: TestRedisServer, primaryPort?: number): Promise<void>;
  /** The port Sentinel names as the primary now. */
  sentinelPrimary(): Promise<number>;
  stop(): Promise<void>;
}

/** Every node: notifications on (capture subscribes to replicas), full syncs at once rather than after 5 s. */
export const REPLICA_SET_ARGS = ['--notify-keyspace-events', 'KEA', '--repl-diskless-sync-delay', '0'];

async function replication(port: number): Promise<ReplicationInfo> {
  const c = new Redis({ port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
  c.on('error', () => undefined);
  try {
    await c.connect();
    return await readReplication(c);
  } finally {
    c.disconnect();
  }
}

export async function startReplicaSet(opts: {
  readonly replicas: number;
  /** Extra arguments for the primary only. */
  readonly primaryArgs?: readonly string[];
}): Promise<ReplicaSet> {
  const name = 'cdcprimary';
  const started: TestRedisServer[] = [];
  try {
    const primary = await startRedisServer({ args: [...REPLICA_SET_ARGS, ...(opts.primaryArgs ?? [])] });
    started.push(primary);
    const replicas: TestRedisServer[] = [];
    for (let i = 0; i < opts.replicas; i++) {
      const replica = await startRedisServer({
        args: [...REPLICA_SET_ARGS, '--replicaof', '127.0.0.1', String(primary.port)],
      });
      started.push(replica);
      replicas.push(replica);
    }
    const waitSynced = async (replica: TestRedisServer, primaryPort = primary.port) => {
      await waitFor(
        `replica :${replica.port} synced with :${primaryPort}`,
        async () => {
          const [r, p] = await Promise.all([replication(replica.port), replication(primaryPort)]);
          const ok = r.primary?.port === primaryPort && r.linkUp === true && r.offset === p.offset;
          return ok ? true : undefined;
        },
        { timeoutMs: 30_000, intervalMs: 50 },
      );
    };
    for (const r of replicas) await waitSynced(r);
    const sentinels: TestRedisServer[] = [];
    const sentinelPrimary = async () => {
      const s = sentinels[0];
      if (!s) throw new Error('no sentinel in this replica set');
      const c = new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 1 });
      c.on('error', () => undefined);
      try {
        await c.connect();
        const [, port] = (await c.call('SENTINEL', 'GET-MASTER-ADDR-BY-NAME', name)) as [string, string];
        return Number(port);
      } finally {
        c.disconnect();
      }
    };
    const startSentinels = async (count: number) => {
      for (let i = 0; i < count; i++) {
        const s = await startSentinel({ name, primaryPort: primary.port, quorum: Math.floor(count / 2) + 1 });
        started.push(s);
        sentinels.push(s);
      }
      // Each sentinel must know the replicas (from the primary's INFO) and the other sentinels (from their hello
      // messages) before it can fail over.
      await waitFor(
        'the sentinels to know every replica and each other',
        async () => {
          for (const s of sentinels) {
            const c = new Redis({
              port: s.port,
              host: '127.0.0.1',
              lazyConnect: true,
              maxRetriesPerRequest: 1,
            });
            c.on('error', () => undefined);
            try {
              await c.connect();
              const list = (await c.call('SENTINEL', 'REPLICAS', name)) as string[][];
              if (list.length < replicas.length) return undefined;
              const known = (await c.call('SENTINEL', 'SENTINELS', name)) as unknown[];
              if (known.length < count - 1) return undefined;
            } finally {
              c.disconnect();
            }
          }
          return true;
        },
        { timeoutMs: 30_000, intervalMs: 200 },
      );
    };
    return {
      primary,
      replicas,
      sentinels,
      name,
      get sentinelList() {
        return sentinels.map((s) => `127.0.0.1:${s.port}`).join(',');
      },
      startSentinels,
      waitSynced,
      sentinelPrimary,
      async stop() {
        await Promise.all(started.map((s) => s.stop()));
      },
    };
  } catch (err) {
    await Promise.all(started.map((s) => s.stop().catch(() => undefined)));
    throw err;
  }
}
