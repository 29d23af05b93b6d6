import type { RedisConfig } from '@cdc/config';
import Redis, { Cluster, type RedisOptions } from 'ioredis';

/**
 * What writes capture's own small state (control-keys.ts, heartbeats, checkpoints): the primary of a standalone
 * source, or a cluster client that routes each key to the shard serving its slot.
 */
export type ControlClient = Redis | Cluster;

/** What a connection needs of the config: the primary (or Sentinel), credentials, TLS and the database. */
export type RedisConnection = Pick<RedisConfig, 'url' | 'db' | 'tlsCa'> &
  Partial<Pick<RedisConfig, 'sentinel'>>;

export interface NodeAddress {
  readonly host: string;
  readonly port: number;
}

export const formatNode = (n: NodeAddress): string =>
  n.host.includes(':') ? `[${n.host}]:${n.port}` : `${n.host}:${n.port}`;

function tlsOptions(cfg: RedisConnection): RedisOptions {
  return cfg.url.startsWith('rediss://') ? { tls: cfg.tlsCa ? { ca: [cfg.tlsCa] } : {} } : {};
}

function common(cfg: RedisConnection, connectionName: string, extra: RedisOptions): RedisOptions {
  return {
    db: cfg.db,
    connectionName,
    lazyConnect: true,
    // Pending commands survive a reconnect instead of failing after N retries; callers decide on timeouts.
    maxRetriesPerRequest: null,
    ...tlsOptions(cfg),
    ...extra,
  };
}

function withErrorListener(client: Redis, onError?: (err: Error) => void): Redis {
  // Without a listener ioredis prints "Unhandled error event" on every failed reconnect attempt.
  client.on('error', onError ?? (() => undefined));
  return client;
}

/**
 * One place that turns config into a client of the PRIMARY: AUTH comes from the URL (redis://user:pass@host),
 * TLS from the rediss:// scheme, plus an optional private CA. With Sentinel, ioredis asks the sentinels where
 * the primary is, reconnects there after a failover (failoverDetector: it listens for +switch-master) and
 * treats a READONLY reply (an old primary demoted under a live connection) as a reason to reconnect.
 * https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel-clients/
 */
export function createRedisClient(
  cfg: RedisConnection,
  connectionName: string,
  extra: RedisOptions = {},
  onError?: (err: Error) => void,
): Redis {
  if (!cfg.sentinel)
    return withErrorListener(new Redis(cfg.url, common(cfg, connectionName, extra)), onError);
  const u = new URL(cfg.url);
  const client = new Redis({
    ...common(cfg, connectionName, extra),
    sentinels: cfg.sentinel.nodes.map((n) => ({ host: n.host, port: n.port })),
    name: cfg.sentinel.name,
    role: 'master',
    ...(cfg.sentinel.password ? { sentinelPassword: cfg.sentinel.password } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    failoverDetector: true,
    reconnectOnError: (err) => (err.message.startsWith('READONLY') ? 2 : false),
  });
  return withErrorListener(client, onError);
}

/**
 * A client of one given node (a replica capture reads on), with the db and TLS of the config. A URL brings its
 * own credentials (REDIS_REPLICA_URL); an address takes those of REDIS_URL.
 */
export function createNodeClient(
  cfg: RedisConnection,
  node: NodeAddress | string,
  connectionName: string,
  extra: RedisOptions = {},
  onError?: (err: Error) => void,
): Redis {
  if (typeof node === 'string')
    return withErrorListener(new Redis(node, common(cfg, connectionName, extra)), onError);
  const u = new URL(cfg.url);
  const client = new Redis({
    ...common(cfg, connectionName, extra),
    host: node.host,
    port: node.port,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
  });
  return withErrorListener(client, onError);
}

/**
 * A client of a whole Redis Cluster for capture's own keys: ioredis routes each single-key command to the shard
 * serving its slot and follows MOVED/ASK itself (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#redirection-and-resharding).
 */
export function createClusterClient(
  cfg: RedisConnection & Pick<RedisConfig, 'seeds'>,
  connectionName: string,
  onError?: (err: Error) => void,
): Cluster {
  const u = new URL(cfg.url);
  const client = new Cluster(
    cfg.seeds.map((s) => ({ host: s.host, port: s.port })),
    {
      lazyConnect: true,
      redisOptions: {
        connectionName,
        maxRetriesPerRequest: null,
        ...tlsOptions(cfg),
        ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
        ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      },
    },
  );
  client.on('error', onError ?? (() => undefined));
  return client;
}

/** host:port of a redis:// URL. */
export function urlNode(url: string): NodeAddress {
  const u = new URL(url);
  return { host: u.hostname.replace(/^\[|\]$/g, ''), port: Number(u.port || 6379) };
}
