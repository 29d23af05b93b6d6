import { type RedisConfig, redactUrl } from '@cdc/config';
import { DependencyError, type Logger, retryDependency, type StartupCheck } from '@cdc/observability';
import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { createNodeClient, createRedisClient, type NodeAddress } from './client';

const ATTEMPT_TIMEOUT_MS = 5_000;

/** One attempt, no reconnect, no queue: an error is the answer (ioredis otherwise retries for ever). */
const ONCE: RedisOptions = {
  retryStrategy: () => null,
  sentinelRetryStrategy: () => null,
  maxRetriesPerRequest: 0,
  enableOfflineQueue: false,
  connectTimeout: ATTEMPT_TIMEOUT_MS,
  db: 0, // PING needs no database, and a cluster node refuses SELECT
};

/** What a failed connection to Redis means and what to do (pure). `variable` is where its address comes from. */
export function redisProblem(
  err: Error,
  variable = 'REDIS_URL',
): { problem: string; fix: string; permanent: boolean } {
  const text = err.message;
  if (/^NOAUTH/.test(text))
    return {
      problem: `the server requires a password (${text})`,
      fix: `put it in ${variable}: redis://:PASSWORD@host:port (redis://USER:PASSWORD@… for an ACL user)`,
      permanent: true,
    };
  if (/^WRONGPASS|invalid password|invalid username-password/i.test(text))
    return {
      problem: `authentication failed (${text})`,
      fix: `check the user and password in ${variable}`,
      permanent: true,
    };
  if (/without any password configured|AUTH.*no password is set/i.test(text))
    return {
      problem: `a password was sent but the server has none (${text})`,
      fix: `remove the password from ${variable}`,
      permanent: true,
    };
  if (/^NOPERM/.test(text))
    return {
      problem: `the user lacks a permission (${text})`,
      fix: 'grant it in the ACL (docs/operations.md lists the commands capture runs)',
      permanent: true,
    };
  if (/ECONNREFUSED/.test(text))
    return {
      problem: `unreachable (${text})`,
      fix: `start Redis there (\`npx cdc stack up\` runs one locally) or point ${variable} at a running server`,
      permanent: false,
    };
  if (/ENOTFOUND|EAI_AGAIN/.test(text))
    return {
      problem: `host not found (${text})`,
      fix: `check the host name in ${variable}`,
      permanent: false,
    };
  if (/ETIMEDOUT|timed? ?out/i.test(text))
    return {
      problem: `no answer (${text})`,
      fix: `check the address in ${variable} and any firewall or security group on the way`,
      permanent: false,
    };
  if (/^Protocol error/.test(text))
    return {
      problem: `something that is not Redis answers there (${text})`,
      fix: `check the port in ${variable} (a TLS port needs rediss://)`,
      permanent: true,
    };
  if (/EPROTO|wrong version number|certificate|self.signed|SSL routines/i.test(text))
    return {
      problem: `the server does not speak what the URL says (${text})`,
      fix: `use rediss:// only for a TLS port (a private CA goes in REDIS_TLS_CA_FILE), redis:// otherwise`,
      permanent: true,
    };
  if (/^LOADING/.test(text))
    return { problem: `still loading its dataset (${text})`, fix: 'wait for it', permanent: false };
  return { problem: text, fix: `check ${variable}`, permanent: false };
}

/** Connects one client once and PINGs; the error ioredis reports is the one thrown. */
async function ping(client: Redis): Promise<void> {
  // The first error is the cause: a refused AUTH makes the SELECT and the ready check after it fail with NOAUTH.
  let first: Error | undefined;
  client.on('error', (err: Error) => (first ??= err));
  try {
    await client.connect();
    await client.ping();
  } catch (err) {
    // connect() only says "Connection is closed."; the reason arrived on the 'error' event.
    throw first ?? (err as Error);
  } finally {
    client.disconnect();
  }
}

const seedUrl = (cfg: RedisConfig, seed: NodeAddress, i: number): string =>
  i === 0 ? redactUrl(cfg.url) : `redis://${seed.host}:${seed.port}`;

/**
 * One attempt: the primary (through Sentinel when configured) or, for a cluster, at least one seed answers a
 * PING with the configured credentials; in replica mode the pinned replica answers too.
 */
async function probeRedis(cfg: RedisConfig): Promise<void> {
  const failed = (endpoint: string, err: Error, variable?: string): DependencyError => {
    const { problem, fix, permanent } = redisProblem(err, variable);
    return new DependencyError('Redis', endpoint, problem, fix, permanent);
  };
  if (cfg.sentinel) {
    const where = `Sentinel ${cfg.sentinel.nodes.map((n) => `${n.host}:${n.port}`).join(',')} (primary "${cfg.sentinel.name}")`;
    await ping(createRedisClient(cfg, 'cdc-preflight', ONCE, () => undefined)).catch((err: Error) => {
      throw failed(where, err, 'REDIS_SENTINELS / REDIS_SENTINEL_NAME / REDIS_URL');
    });
  } else {
    let first: DependencyError | undefined;
    for (const [i, seed] of cfg.seeds.entries()) {
      try {
        await ping(createNodeClient(cfg, seed, 'cdc-preflight', ONCE, () => undefined));
        first = undefined;
        break;
      } catch (err) {
        const e = failed(seedUrl(cfg, seed, i), err as Error);
        if (e.permanent) throw e; // a refused password is refused by every seed
        first ??= e;
      }
    }
    if (first && cfg.seeds.length > 1)
      throw new DependencyError(
        'Redis',
        cfg.seeds.map((s, i) => seedUrl(cfg, s, i)).join(','),
        `no seed answers: ${first.problem}`,
        first.fix,
      );
    if (first) throw first;
  }
  if (cfg.readFrom === 'replica' && cfg.replicaUrl) {
    const replicaUrl = cfg.replicaUrl;
    await ping(createNodeClient(cfg, replicaUrl, 'cdc-preflight', ONCE, () => undefined)).catch(
      (err: Error) => {
        const { problem, fix, permanent } = redisProblem(err, 'REDIS_REPLICA_URL');
        throw new DependencyError('Redis replica', redactUrl(replicaUrl), problem, fix, permanent);
      },
    );
  }
}

/** Redis answers within `timeoutMs`, retried with one log line per failed attempt. */
export function checkRedis(cfg: RedisConfig, opts: { timeoutMs: number; log: Logger }): Promise<void> {
  return retryDependency(() => probeRedis(cfg), opts);
}

export const redisStartupCheck: StartupCheck = {
  name: 'Redis',
  run: (config, log) =>
    checkRedis(config.require('redis').redis, { timeoutMs: config.startupTimeoutMs, log }),
};
