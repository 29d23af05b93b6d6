import type { Cluster, Redis } from 'ioredis';
import type { ControlClient } from './client';
import { INTERNAL_PREFIX } from './slot';

/**
 * Listing and removing the replicator's own keys (`cdc teardown`). Every key under the reserved prefix names
 * the source it belongs to right after its kind (control-keys.ts, `__cdc:hb:<source>:…`), except the
 * reconciliation checkpoint (`__cdc:scan:reconcile:<source>`) and the keys every source capturing the same
 * Redis database shares: the version counters and epoch markers (epoch.ts) and short-lived probe keys.
 */
export type ControlKeyOwner =
  | { readonly kind: 'source' }
  | { readonly kind: 'shared' }
  | { readonly kind: 'other'; readonly source: string };

const SHARED_KINDS = new Set(['ver', 'epoch', 'probe']);

/** Who a `__cdc:` key belongs to, seen from `source`. Pure. */
export function controlKeyOwner(key: string, source: string): ControlKeyOwner {
  const rest = key.startsWith(INTERNAL_PREFIX) ? key.slice(INTERNAL_PREFIX.length) : key;
  const segments = rest.split(':');
  const kind = (segments[0] ?? '').replace(/\{.*\}$/, '');
  if (SHARED_KINDS.has(kind)) return { kind: 'shared' };
  // A hash tag (`{…}`, cluster slot routing) may end the key; it is never part of a source id.
  const owner = ((kind === 'scan' ? segments[2] : segments[1]) ?? '').replace(/\{.*\}$/, '');
  return owner === source ? { kind: 'source' } : { kind: 'other', source: owner };
}

/** Every key under the reserved prefix on one node, as host:port plus names. */
export interface NodeControlKeys {
  readonly node: string;
  readonly keys: readonly string[];
}

const nodeName = (r: Redis): string => `${r.options.host ?? '127.0.0.1'}:${r.options.port ?? 6379}`;
const isCluster = (c: ControlClient): c is Cluster => 'nodes' in c && typeof c.nodes === 'function';

async function scanNode(r: Redis, onBatch?: (found: number) => void): Promise<string[]> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await r.scan(cursor, 'MATCH', `${INTERNAL_PREFIX}*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
    onBatch?.(keys.length);
  } while (cursor !== '0');
  return [...new Set(keys)].sort(); // SCAN may return a key twice
}

/**
 * SCAN MATCH `__cdc:*` of the database the client is on, or of every primary of a cluster. The whole keyspace
 * is walked (the prefix only filters server-side), so on a large Redis this takes as long as a snapshot's SCAN;
 * `onProgress` hears each node's running count.
 */
export async function scanControlKeys(
  client: ControlClient,
  onProgress?: (node: string, found: number) => void,
): Promise<NodeControlKeys[]> {
  const nodes = isCluster(client) ? client.nodes('master') : [client];
  return Promise.all(
    nodes.map(async (r) => {
      const node = nodeName(r);
      return { node, keys: await scanNode(r, (n) => onProgress?.(node, n)) };
    }),
  );
}

/**
 * UNLINKs the keys (freed in the background by the server). Standalone: batches of 500 in one command; a cluster
 * routes each key to its shard (keys of different slots cannot share a command). Resolves with how many existed.
 */
export async function unlinkControlKeys(
  client: ControlClient,
  keys: readonly string[],
  onProgress?: (done: number) => void,
): Promise<number> {
  let removed = 0;
  const batch = isCluster(client) ? 100 : 500;
  for (let i = 0; i < keys.length; i += batch) {
    const chunk = keys.slice(i, i + batch);
    removed += isCluster(client)
      ? (await Promise.all(chunk.map((k) => client.unlink(k)))).reduce((a, b) => a + b, 0)
      : await client.unlink(...chunk);
    onProgress?.(Math.min(keys.length, i + batch));
  }
  return removed;
}
