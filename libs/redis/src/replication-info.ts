import type Redis from 'ioredis';
import { parseInfo } from './server-info';

/**
 * What capture needs from `INFO replication` (https://redis.io/docs/latest/commands/info/), on the primary
 * and on the replica it reads. A replication ID names one linear history: a node gets a new one when it is
 * promoted, and a primary that restarts without persistence starts a new one at offset 0. Within one ID the
 * offset only grows, and a replica's data is exactly the primary's history up to its offset.
 * https://redis.io/docs/latest/operate/oss_and_stack/management/replication/#replication-id-explained
 */
export interface ReplicaOfPrimary {
  readonly host: string;
  readonly port: number;
  readonly state: string;
  readonly offset: number;
  readonly lag: number;
}

export interface ReplicationInfo {
  readonly role: 'master' | 'slave';
  readonly replid: string;
  readonly offset: bigint;
  /** A replica's link to its primary; null on a primary. */
  readonly linkUp: boolean | null;
  /** A replica's primary, as it was configured; null on a primary. */
  readonly primary: { readonly host: string; readonly port: number } | null;
  /** A primary's replicas. */
  readonly replicas: readonly ReplicaOfPrimary[];
}

export function parseReplication(text: string): ReplicationInfo {
  const info = parseInfo(text);
  const role = info.get('role') === 'slave' ? 'slave' : 'master';
  const replicas: ReplicaOfPrimary[] = [];
  for (const [k, v] of info) {
    if (!/^slave\d+$/.test(k)) continue;
    const f = new Map(v.split(',').map((kv) => kv.split('=') as [string, string]));
    replicas.push({
      host: f.get('ip') ?? '',
      port: Number(f.get('port')),
      state: f.get('state') ?? '',
      offset: Number(f.get('offset') ?? 0),
      lag: Number(f.get('lag') ?? 0),
    });
  }
  const host = info.get('master_host');
  return {
    role,
    replid: info.get('master_replid') ?? '',
    offset: BigInt(info.get('master_repl_offset') ?? '0'),
    linkUp: role === 'slave' ? info.get('master_link_status') === 'up' : null,
    primary: role === 'slave' && host ? { host, port: Number(info.get('master_port')) } : null,
    replicas,
  };
}

export async function readReplication(redis: Redis): Promise<ReplicationInfo> {
  return parseReplication(await redis.info('replication'));
}

/** The node's identity: a new run id after every restart. */
export async function readRunId(redis: Redis): Promise<string> {
  return parseInfo(await redis.info('server')).get('run_id') ?? '';
}

/**
 * The id of a replica's link client to its primary (CLIENT LIST TYPE master), or null while it has none. A
 * partial resync keeps the cached link client (same id); a full resync makes a new one. A full resync replaces
 * the replica's data without a keyspace event or a disconnect, so a new id is how capture sees it (measured on
 * Redis 7.0: same id after `CLIENT KILL TYPE replica` + PSYNC, a new id after a backlog overrun).
 */
export function primaryLinkId(clientList: string): string | null {
  const line = clientList.split('\n').find((l) => /(?:^| )flags=\w*M/.test(l));
  return line ? (/(?:^|\s)id=(\d+)/.exec(line)?.[1] ?? null) : null;
}

export async function readPrimaryLinkId(redis: Redis): Promise<string | null> {
  return primaryLinkId((await redis.call('CLIENT', 'LIST', 'TYPE', 'master')) as string);
}
