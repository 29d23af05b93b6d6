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
  };
}

/** The healthy replica furthest along (down, disconnected or link-broken ones are never chosen). */
export function pickSentinelReplica(replicas: readonly SentinelReplica[]): NodeAddress | null {
  const healthy = replicas.filter(
    (r) => r.linkOk && !r.flags.some((f) => f === 's_down' || f === 'o_down' || f === 'disconnected'),
  );
  healthy.sort((a, b) => b.offset - a.offset);
  const best = healthy[0];
  return best ? { host: best.host, port: best.port } : null;
}

/** Asks each sentinel in turn; the first that answers decides. */
export async function sentinelReplicas(
  sentinel: NonNullable<RedisConfig['sentinel']>,
): Promise<SentinelReplica[]> {
  const errors: string[] = [];
  for (const node of sentinel.nodes) {
    const client = new Redis({
      host: node.host,
      port: node.port,
      lazyConnect: true,
      maxRetriesPerRequest: 1,
      retryStrategy: () => null,
      connectTimeout: 2_000,
      ...(sentinel.password ? { password: sentinel.password } : {}),
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
      const reply = (await client.call('SENTINEL', 'REPLICAS', sentinel.name)) as string[][];
      return reply.map(parseSentinelReplica);
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
