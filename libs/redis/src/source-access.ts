import type { RedisConfig } from '@cdc/config';
import type Redis from 'ioredis';
import type { RedisOptions } from 'ioredis';
import { type ControlClient, createClusterClient, createRedisClient } from './client';
import { ClusterVersionedReader } from './cluster-read';
import { ClusterSource, isClusterSource } from './cluster-source';
import type { EpochKeeperOptions } from './epoch';
import { RedisSource } from './source';
import type { KeyReader } from './versioned-read';

/**
 * What the tools beside capture need of a source, whatever it is (a primary, a replica of it, or a Redis
 * Cluster): where capture's own small state is read and written (`control`: the primary, or a cluster client
 * that routes each key to its shard), versioned reads where capture reads (`reader`), and the nodes a SCAN of
 * the whole keyspace walks (one, or one per shard). `cdc snapshot`, `cdc verify`, `cdc status` and the verifier
 * use it, so each works on every kind of source capture supports.
 */
export interface SourceAccess {
  readonly kind: 'standalone' | 'cluster';
  readonly control: ControlClient;
  readonly reader: KeyReader;
  scanNodes(): readonly Redis[];
  /** Keys the scan will walk (DBSIZE of each node), for progress bars. */
  dbsize(): Promise<number>;
  close(): void;
}

/**
 * A connected client for capture's own keys (control-keys.ts): the primary, or a cluster client. `extra` tunes
 * the standalone client (a status check fails fast rather than waits).
 */
export async function openControlClient(
  cfg: RedisConfig,
  name: string,
  extra: RedisOptions = {},
  onError?: (err: Error) => void,
): Promise<ControlClient> {
  const client = (await isClusterSource(cfg))
    ? createClusterClient(cfg, name, onError)
    : createRedisClient(cfg, name, extra, onError);
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    throw err;
  }
  return client;
}

export async function openSourceAccess(
  cfg: RedisConfig,
  name: string,
  opts: { onError?: (err: Error) => void; epochs?: Partial<EpochKeeperOptions> } = {},
): Promise<SourceAccess> {
  if (await isClusterSource(cfg)) {
    const source = await ClusterSource.open(cfg, name, opts);
    const control = createClusterClient(cfg, `${name}-control`, opts.onError);
    try {
      await control.connect();
    } catch (err) {
      source.close();
      control.disconnect();
      throw err;
    }
    const scanNodes = () => source.readerClients();
    return {
      kind: 'cluster',
      control,
      reader: new ClusterVersionedReader(source),
      scanNodes,
      dbsize: async () => (await Promise.all(scanNodes().map((n) => n.dbsize()))).reduce((a, b) => a + b, 0),
      close: () => {
        source.close();
        control.disconnect();
      },
    };
  }
  const source = await RedisSource.open(cfg, name, opts);
  return {
    kind: 'standalone',
    control: source.control,
    reader: source.versionedReader(),
    scanNodes: () => [source.reader],
    dbsize: () => source.reader.dbsize(),
    close: () => source.close(),
  };
}
