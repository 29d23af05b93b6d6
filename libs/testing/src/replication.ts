import { GetItemCommand } from '@aws-sdk/client-dynamodb';
import type { CdcConfig } from '@cdc/config';
import { createDynamoClient } from '@cdc/dynamo';
import { classify, itemToState, type ItemState } from '@cdc/parity';
import { type KeyReader, VersionedReader } from '@cdc/redis';
import type Redis from 'ioredis';
import pLimit from 'p-limit';
import { waitFor } from './wait';

/** The item of `key` in the config's table, decoded; undefined when there is none. */
export async function readItem(config: CdcConfig, key: string | Buffer): Promise<ItemState | undefined> {
  const client = createDynamoClient(config.dynamo);
  try {
    const pk = typeof key === 'string' ? key : key.toString();
    const { Item } = await client.send(
      new GetItemCommand({ TableName: config.table, Key: { pk: { S: pk } }, ConsistentRead: true }),
    );
    return Item ? itemToState(Item) : undefined;
  } finally {
    client.destroy();
  }
}

/**
 * Waits until every key's DynamoDB item equals its current Redis state (parity class `match`: a key absent from
 * Redis matches no item or a tombstone). Checks keys concurrently; returns each key's final item.
 */
export async function expectReplicated(
  config: CdcConfig,
  redis: Redis | KeyReader,
  keys: readonly string[],
  opts: { timeoutMs?: number; concurrency?: number } = {},
): Promise<Array<ItemState | null>> {
  const client = createDynamoClient(config.dynamo);
  // A Redis connection (one node), or a reader of a whole cluster (ClusterVersionedReader).
  const reader: KeyReader =
    'read' in redis && !('status' in redis) ? redis : new VersionedReader(redis as Redis);
  const limit = pLimit(opts.concurrency ?? 16);
  try {
    return await Promise.all(
      keys.map((key) =>
        limit(() =>
          waitFor(
            `${key} to match Redis`,
            async () => {
              const [r] = await reader.read([Buffer.from(key)], false);
              const { Item } = await client.send(
                new GetItemCommand({
                  TableName: config.table,
                  Key: { pk: { S: key } },
                  ConsistentRead: true,
                }),
              );
              const item = Item ? itemToState(Item) : null;
              const verdict = classify(
                item,
                { value: r?.value ?? null, expireAtMs: r?.expireAtMs ?? null },
                config.writer,
              );
              return { verdict, item };
            },
            { accept: (c) => c.verdict === 'match', timeoutMs: opts.timeoutMs ?? 60_000, intervalMs: 100 },
          ).then((c) => c.item),
        ),
      ),
    );
  } finally {
    client.destroy();
  }
}
