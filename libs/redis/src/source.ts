import type { RedisConfig } from '@cdc/config';
import type Redis from 'ioredis';
import {
  createNodeClient,
  createRedisClient,
  formatNode,
  type NodeAddress,
  type RedisConnection,
  urlNode,
} from './client';
import { EpochKeeper, type EpochKeeperOptions, type ReadMode } from './epoch';
import { readReplication, readRunId } from './replication-info';
import { pickSentinelReplica, sentinelReplicas } from './sentinel';
import { VersionedReader } from './versioned-read';

/** A configuration or topology problem capture cannot work around: the message names it and the fix. */
export class SourceTopologyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SourceTopologyError';
  }
}

/**
 * Connections to probe a replica address with: a round-robin reader endpoint shows several run ids. With two
 * servers behind it, 8 probes all land on one of them with probability 1/128; capture also checks at run time
 * that its subscriber is on the node it reads (the gap monitor).
 */
const ROUND_ROBIN_PROBES = 8;

/**
 * The Redis nodes one source is read through (REDIS_READ_FROM): `control` is the primary, which receives
 * capture's own small writes (heartbeat, epoch marker, gap record); `reader` is the node capture subscribes
 * and reads on: the primary itself, or one replica of it (REDIS_REPLICA_URL, else one Sentinel names, else
 * the online replica the primary's INFO lists with the least lag). The reader may move (`moveReader`) after
 * a failover; whoever reads through it takes it from the getter each time.
 */
export class RedisSource {
  readonly epochs: EpochKeeper;
  private current: { client: Redis; node: NodeAddress | string };

  private constructor(
    readonly cfg: RedisConfig,
    readonly control: Redis,
    reader: { client: Redis; node: NodeAddress | string },
    private readonly name: string,
    private readonly onError: ((err: Error) => void) | undefined,
    epochOptions: Partial<EpochKeeperOptions>,
  ) {
    this.current = reader;
    this.epochs = new EpochKeeper({
      ...epochOptions,
      mode: cfg.readFrom,
      control: () => this.control,
      reader: () => this.reader,
    });
  }

  /** Connects to the primary and the reader, and checks the reader is one node replicating that primary. */
  static async open(
    cfg: RedisConfig,
    name: string,
    opts: { onError?: (err: Error) => void; epochs?: Partial<EpochKeeperOptions> } = {},
  ): Promise<RedisSource> {
    const control = createRedisClient(cfg, name, {}, opts.onError);
    await control.connect();
    await refuseCluster(control, cfg);
    if (cfg.readFrom === 'primary') {
      return new RedisSource(
        cfg,
        control,
        { client: control, node: urlNode(cfg.url) },
        name,
        opts.onError,
        opts.epochs ?? {},
      );
    }
    try {
      const node = await resolveReplica(cfg, control);
      const client = await connectReplica(cfg, node, `${name}-reader`, opts.onError);
      const source = new RedisSource(cfg, control, { client, node }, name, opts.onError, opts.epochs ?? {});
      return source;
    } catch (err) {
      control.disconnect();
      throw err;
    }
  }

  get mode(): ReadMode {
    return this.cfg.readFrom;
  }

  get reader(): Redis {
    return this.current.client;
  }

  /** The reader's address, for logs and errors (a replica URL is shown without its credentials). */
  get readerNode(): string {
    const n = this.current.node;
    return typeof n === 'string' ? formatNode(urlNode(n)) : formatNode(n);
  }

  /** Versioned reads on the current reader, versions taken under this source's epochs. */
  versionedReader(): VersionedReader {
    return new VersionedReader(() => this.reader, this.epochs);
  }

  /** A new connection to the reader node (the keyevent subscriber must be on the node reads run on). */
  readerClient(connectionName: string): Redis {
    if (this.mode === 'primary') return createRedisClient(this.cfg, connectionName, {}, this.onError);
    return createNodeClient(this.cfg, this.current.node, connectionName, {}, this.onError);
  }

  /** Looks for a replica again (after a failover or the loss of this one); null when it is the same node. */
  async findReplica(): Promise<NodeAddress | string | null> {
    const node = await resolveReplica(this.cfg, this.control);
    return formatNode(typeof node === 'string' ? urlNode(node) : node) === this.readerNode ? null : node;
  }

  /** Reads move to `node`; the old reader connection is dropped (its queued commands fail and are retried). */
  async moveReader(node: NodeAddress | string): Promise<void> {
    const client = await connectReplica(this.cfg, node, `${this.name}-reader`, this.onError);
    const old = this.current.client;
    this.current = { client, node };
    old.disconnect();
  }

  close(): void {
    if (this.current.client !== this.control) this.current.client.disconnect();
    this.control.disconnect();
  }
}

/**
 * Capture reads a standalone primary or its replicas. A Redis Cluster node would fail later on CROSSSLOT errors
 * (capture's scripts touch keys of several slots), which say nothing useful: refuse it up front, by name.
 */
async function refuseCluster(control: Redis, cfg: RedisConfig): Promise<void> {
  const info = await control.info('cluster').catch(() => '');
  if (!/cluster_enabled:1/.test(info)) return;
  control.disconnect();
  throw new SourceTopologyError(
    `REDIS_URL (${formatNode(urlNode(cfg.url))}) is a Redis Cluster node (INFO cluster: cluster_enabled:1): it is ` +
      'read through ClusterSource (openSourceAccess and capture detect it), not as a standalone primary.',
  );
}

async function resolveReplica(cfg: RedisConfig, control: Redis): Promise<NodeAddress | string> {
  if (cfg.replicaUrl) return cfg.replicaUrl;
  if (cfg.sentinel) {
    const { primary, replicas } = await sentinelReplicas(cfg.sentinel);
    const pick = pickSentinelReplica(replicas, primary);
    if (!pick)
      throw new SourceTopologyError(
        `REDIS_READ_FROM=replica, but Sentinel knows no healthy replica of "${cfg.sentinel.name}" at ` +
          `${formatNode(primary)} (${replicas.length} listed, none up, linked to it and with its link ok). Add a ` +
          'replica, or use REDIS_READ_FROM=primary.',
      );
    return pick;
  }
  const info = await readReplication(control);
  const online = info.replicas
    .filter((r) => r.state === 'online')
    .sort((a, b) => a.lag - b.lag || b.offset - a.offset);
  const best = online[0];
  if (!best)
    throw new SourceTopologyError(
      `REDIS_READ_FROM=replica, but the primary at ${formatNode(urlNode(cfg.url))} has no online replica ` +
        `(INFO replication lists ${info.replicas.length}). Add a replica, set REDIS_REPLICA_URL to one, ` +
        `or use REDIS_READ_FROM=primary.`,
    );
  return { host: best.host, port: best.port };
}

/** Connects to a replica and refuses an address that is not one replica of our primary. */
async function connectReplica(
  cfg: RedisConnection,
  node: NodeAddress | string,
  name: string,
  onError?: (err: Error) => void,
): Promise<Redis> {
  const shown = formatNode(typeof node === 'string' ? urlNode(node) : node);
  const probes = Array.from({ length: ROUND_ROBIN_PROBES }, (_, i) =>
    createNodeClient(cfg, node, `${name}-probe-${i}`, { maxRetriesPerRequest: 1, retryStrategy: () => null }),
  );
  try {
    const runIds = await Promise.all(
      probes.map(async (p) => {
        await p.connect();
        return readRunId(p);
      }),
    );
    const distinct = [...new Set(runIds)];
    if (distinct.length > 1)
      throw new SourceTopologyError(
        `the replica address ${shown} reached ${distinct.length} different Redis servers on ${probes.length} ` +
          `connections (run ids ${distinct.join(', ')}): a reader endpoint that round-robins cannot be used, ` +
          `because capture must subscribe and read on the same node. Give one replica's own address.`,
      );
    const info = await readReplication(probes[0] as Redis);
    if (info.role !== 'slave')
      throw new SourceTopologyError(
        `the node at ${shown} is a primary, not a replica: give a replica's address, or use REDIS_READ_FROM=primary.`,
      );
  } catch (err) {
    if (err instanceof SourceTopologyError) throw err;
    throw new SourceTopologyError(`cannot reach the replica at ${shown}: ${(err as Error).message}`);
  } finally {
    for (const p of probes) p.disconnect();
  }
  const client = createNodeClient(cfg, node, name, {}, onError);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect(); // or ioredis keeps reconnecting a client nobody holds
    throw new SourceTopologyError(`cannot reach the replica at ${shown}: ${(err as Error).message}`);
  }
  return client;
}
