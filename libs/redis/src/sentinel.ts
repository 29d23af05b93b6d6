import type { RedisConfig } from '@cdc/config';
import Redis from 'ioredis';
import type { NodeAddress } from './client';

/**
 * Asking Redis Sentinel which replicas a primary has (https://redis.io/docs/latest/operate/oss_and_stack/management/sentinel/#sentinel-commands).
 * ioredis itself connects to the PRIMARY through Sentinel (createRedisClient); the replica capture reads on is
 * chosen here, so the subscriber and the reader are always on the same node.
 */
export interface SentinelReplica extends NodeAddress {
  readonly flags: readonly string[];
  readonly linkOk: boolean;
  readonly offset: number;
  /** The primary it replicates, as it reports it (right after a failover, still the old one for a moment). */
  readonly primary: NodeAddress;
}

/** One `SENTINEL REPLICAS` entry is a flat [field, value, ...] list. */
export function parseSentinelReplica(flat: readonly string[]): SentinelReplica {
  const f = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) f.set(flat[i] as string, flat[i + 1] as string);
  return {
    host: f.get('ip') ?? '',
    port: Number(f.get('port')),
    flags: (f.get('flags') ?? '').split(','),
    linkOk: f.get('master-link-status') === 'ok',
    offset: Number(f.get('slave-repl-offset') ?? 0),
    primary: { host: f.get('master-host') ?? '', port: Number(f.get('master-port')) },
  };
}

/**
 * The healthy replica of `primary` furthest along. Down, disconnected or link-broken replicas are never chosen,
 * nor one that still replicates another node: right after a failover Sentinel lists the replicas it is about
 * to repoint, and one still on the old primary reads the old history.
 */
export function pickSentinelReplica(
  replicas: readonly SentinelReplica[],
  primary: NodeAddress,
): NodeAddress | null {
  const healthy = replicas.filter(
    (r) =>
      r.linkOk &&
      r.primary.host === primary.host &&
      r.primary.port === primary.port &&
      !r.flags.some((f) => f === 's_down' || f === 'o_down' || f === 'disconnected'),
  );
  healthy.sort((a, b) => b.offset - a.offset);
  const best = healthy[0];
  return best ? { host: best.host, port: best.port } : null;
}

/** Asks each sentinel in turn; the first that answers decides: the primary it names and its replicas. */
export async function sentinelReplicas(
  sentinel: NonNullable<RedisConfig['sentinel']>,
): Promise<{ primary: NodeAddress; replicas: SentinelReplica[] }> {
  const errors: string[] = [];
  for (const node of sentinel.nodes) {
    const client = new Redis({
      host: node.host,
      port: node.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectTimeout: 2_000,
      commandTimeout: 2_000, // a sentinel that accepts and never answers must not hang the search
      ...(sentinel.password ? { password: sentinel.password } : {}),
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const [host = '', port = '0'] = (await client.call(
        'SENTINEL',
        'GET-MASTER-ADDR-BY-NAME',
        sentinel.name,
      )) as string[];
      const reply = (await client.call('SENTINEL', 'REPLICAS', sentinel.name)) as string[][];
      return { primary: { host, port: Number(port) }, replicas: reply.map(parseSentinelReplica) };
    } catch (err) {
      errors.push(`${node.host}:${node.port}: ${(err as Error).message}`);
    } finally {
      client.disconnect();
    }
  }
  throw new Error(
    `no sentinel answered SENTINEL REPLICAS ${sentinel.name} (${errors.join('; ')}): check REDIS_SENTINELS and REDIS_SENTINEL_NAME`,
  );
}
