import type { RedisConfig } from '@cdc/config';
import Redis, { type RedisOptions } from 'ioredis';

/**
 * One place that turns config into an ioredis client: AUTH comes from the URL (redis://user:pass@host),
 * TLS from the rediss:// scheme, plus an optional private CA.
 */
export function createRedisClient(
  cfg: RedisConfig,
  connectionName: string,
  extra: RedisOptions = {},
  onError?: (err: Error) => void,
): Redis {
  const tls = cfg.url.startsWith('rediss://') ? { tls: cfg.tlsCa ? { ca: [cfg.tlsCa] } : {} } : {};
  const client = new Redis(cfg.url, {
    db: cfg.db,
    connectionName,
    lazyConnect: true,
    // Pending commands survive a reconnect instead of failing after N retries; callers decide on timeouts.
    maxRetriesPerRequest: null,
    ...tls,
    ...extra,
  });
  // Without a listener ioredis prints "Unhandled error event" on every failed reconnect attempt.
  client.on('error', onError ?? (() => undefined));
  return client;
}
