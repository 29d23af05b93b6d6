import type { RedisConfig } from '@cdc/config';
import type Redis from 'ioredis';
import { createNodeClient, formatNode, type NodeAddress } from './client';
import {
  type ClusterNode,
  type ClusterShard,
  type ClusterTopology,
  parseClusterShards,
  shardOf,
  type TopologyChange,
  topologyChange,
} from './cluster-topology';
import {
  clusterCounterKey,
  clusterMarkerKey,
  EpochKeeper,
  type EpochKeeperOptions,
  type ReadMode,
} from './epoch';

/** A Redis Cluster capture cannot use as configured: the message names it and the fix. */
export class ClusterTopologyError extends Error {}

const key = (n: NodeAddress): string => formatNode(n);
/** Longer than any script call of 100 keys takes; a node that does not answer by then is treated as gone. */
const NODE_COMMAND_TIMEOUT_MS = 15_000;

/**
 * A Redis Cluster as capture reads it (design: one subscriber per shard, https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/).
 * It knows the shards (CLUSTER SHARDS from any seed in REDIS_URL), keeps one connection per node it talks to,
 * and for each shard names the node capture reads and subscribes on (the primary, or with REDIS_READ_FROM=replica
 * its healthiest replica, connected READONLY) and the primary its own writes go to. `refresh()` reads the shards
 * again and says which slots changed owner. Epochs are per slot (a script may only touch one slot's keys), so
 * each slot's keeper raises on the slot's primary and waits on the slot's reader.
 */
export class ClusterSource {
  private view: ClusterTopology;
  private readonly clients = new Map<string, Redis>();
  private readonly keepers = new Map<number, EpochKeeper>();
  private refreshing: Promise<TopologyChange> | undefined;

  private constructor(
    readonly cfg: RedisConfig,
    private readonly name: string,
    topology: ClusterTopology,
    private readonly opts: { onError?: (err: Error) => void; epochs?: Partial<EpochKeeperOptions> },
  ) {
    this.view = topology;
  }

  static async open(
    cfg: RedisConfig,
    name: string,
    opts: { onError?: (err: Error) => void; epochs?: Partial<EpochKeeperOptions> } = {},
  ): Promise<ClusterSource> {
    if (cfg.db !== 0)
      throw new ClusterTopologyError(
        `REDIS_DB is ${cfg.db}, but a Redis Cluster has only database 0: unset REDIS_DB`,
      );
    const topology = await discover(cfg, cfg.seeds, name);
    if (!topology.shards.some((s) => s.ranges.length > 0))
      throw new ClusterTopologyError(
        `the Redis Cluster at ${cfg.seeds.map(key).join(', ')} serves no slot (cluster_state:fail): create it ` +
          '(redis-cli --cluster create ...) or assign its slots before starting capture',
      );
    return new ClusterSource(cfg, name, topology, opts);
  }

  get mode(): ReadMode {
    return this.cfg.readFrom;
  }

  get topology(): ClusterTopology {
    return this.view;
  }

  /** The node capture reads and subscribes on in `shard`. */
  readerOf(shard: ClusterShard): ClusterNode {
    if (this.mode === 'primary') return shard.primary;
    const healthy = shard.replicas.filter((r) => r.health === 'online');
    healthy.sort((a, b) => b.offset - a.offset || key(a).localeCompare(key(b)));
    // A shard without a healthy replica is read on its primary until one is back (versions stay ordered:
    // the primary's offset is the same history's).
    return healthy[0] ?? shard.primary;
  }

  /**
   * A connection to `node` (READONLY for a replica), shared by everything that talks to it. A command fails
   * rather than waits when the node is gone (one reconnect attempt, a timeout): in a cluster the answer is to
   * read the topology again and go elsewhere, not to wait for a node a failover replaced.
   */
  client(node: NodeAddress, replica = false): Redis {
    const k = `${key(node)}${replica ? '/ro' : ''}`;
    let c = this.clients.get(k);
    if (!c) {
      c = createNodeClient(
        this.cfg,
        node,
        `${this.name}${replica ? '-ro' : ''}`,
        { readOnly: replica, maxRetriesPerRequest: 1, commandTimeout: NODE_COMMAND_TIMEOUT_MS },
        this.opts.onError,
      );
      void c.connect().catch(() => undefined); // ioredis retries; commands queue meanwhile
      this.clients.set(k, c);
    }
    return c;
  }

  /** The connection capture reads and subscribes on in `shard` (readerOf). */
  readerClient(shard: ClusterShard): Redis {
    const node = this.readerOf(shard);
    return this.client(node, node.role === 'replica');
  }

  /** The reader connections of the shards that serve slots (those `only` keeps), in topology order. */
  readerClients(only: (shard: ClusterShard) => boolean = () => true): Redis[] {
    return this.view.shards.filter((s) => s.ranges.length > 0 && only(s)).map((s) => this.readerClient(s));
  }

  /** The reader connection of the shard serving `slot` (undefined while no shard serves it). */
  readerForSlot(slot: number): { shard: ClusterShard; node: ClusterNode; redis: Redis } | undefined {
    const shard = shardOf(this.view, slot);
    if (!shard) return undefined;
    const node = this.readerOf(shard);
    return { shard, node, redis: this.client(node, node.role === 'replica') };
  }

  controlForSlot(slot: number): Redis | undefined {
    const shard = shardOf(this.view, slot);
    return shard ? this.client(shard.primary) : undefined;
  }

  /** The epoch keeper of `slot`: its marker and counter live in the slot, raised on its primary. */
  epochs(slot: number): EpochKeeper {
    let k = this.keepers.get(slot);
    if (!k) {
      const unserved = () => {
        throw new Error(`no shard serves slot ${slot} (the cluster is resharding or failing over)`);
      };
      k = new EpochKeeper({
        ...this.opts.epochs,
        mode: this.mode,
        markerKey: clusterMarkerKey(slot),
        counterKey: clusterCounterKey(slot),
        control: () => this.controlForSlot(slot) ?? unserved(),
        reader: () => this.readerForSlot(slot)?.redis ?? unserved(),
      });
      this.keepers.set(slot, k);
    }
    return k;
  }

  /** Reads the shards again (one refresh at a time) and says what changed since the last view. */
  async refresh(): Promise<TopologyChange> {
    this.refreshing ??= (async () => {
      const known = this.view.shards.flatMap((s) => [s.primary, ...s.replicas]);
      const next = await discover(this.cfg, [...known, ...this.cfg.seeds], this.name);
      const change = topologyChange(this.view, next);
      this.view = next;
      this.dropUnused();
      return change;
    })().finally(() => (this.refreshing = undefined));
    return this.refreshing;
  }

  /** Connections to nodes no longer in the cluster are closed (a removed shard, a dead node). */
  private dropUnused(): void {
    const live = new Set(this.view.shards.flatMap((s) => [s.primary, ...s.replicas]).map(key));
    for (const [k, c] of this.clients) {
      if (live.has(k.replace(/\/ro$/, ''))) continue;
      c.disconnect();
      this.clients.delete(k);
    }
  }

  close(): void {
    for (const c of this.clients.values()) c.disconnect();
    this.clients.clear();
  }
}

/** CLUSTER SHARDS from the first of `nodes` that answers. */
async function discover(
  cfg: RedisConfig,
  nodes: readonly NodeAddress[],
  name: string,
): Promise<ClusterTopology> {
  const errors: string[] = [];
  const seen = new Set<string>();
  for (const n of nodes) {
    if (seen.has(key(n))) continue;
    seen.add(key(n));
    const c = createNodeClient(cfg, n, `${name}-discover`, {
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectTimeout: 2_000,
      commandTimeout: 5_000,
    });
    try {
      await c.connect();
      const t = parseClusterShards((await c.call('CLUSTER', 'SHARDS')) as unknown[]);
      if (t.shards.length === 0) throw new Error('it lists no shard');
      return t;
    } catch (err) {
      errors.push(`${key(n)}: ${(err as Error).message}`);
    } finally {
      c.disconnect();
    }
  }
  throw new ClusterTopologyError(
    `no node of the Redis Cluster answered CLUSTER SHARDS (${errors.join('; ')}): check REDIS_URL (seeds may be ` +
      'listed: redis://host:port,host:port); Redis 7.0 or later is needed',
  );
}

/** Whether the node behind `redis` is a Redis Cluster node (INFO cluster). */
export async function isClusterNode(redis: Redis): Promise<boolean> {
  return /cluster_enabled:1/.test(await redis.info('cluster').catch(() => ''));
}

/** Whether REDIS_URL names a Redis Cluster (asked of its first seed that answers; Sentinel never is one). */
export async function isClusterSource(cfg: RedisConfig): Promise<boolean> {
  if (cfg.sentinel) return false;
  for (const seed of cfg.seeds) {
    const c = createNodeClient(cfg, seed, 'cdc-detect', {
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectTimeout: 2_000,
    });
    try {
      await c.connect();
      return await isClusterNode(c);
    } catch {
      // the next seed
    } finally {
      c.disconnect();
    }
  }
  return false; // nothing answered: the standalone path reports the connection error
}
