import { BatchWriteItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { keyStateToEvent } from '@cdc/capture';
import type { RedisType } from '@cdc/contracts';
import { eventToItem, type Item } from '@cdc/parity';
import { VersionedReader } from '@cdc/redis';
import type Redis from 'ioredis';

/** The types of the dataset, one key in five each: the verifier's reads differ per type. */
export const DATASET_TYPES = [
  'string',
  'hash',
  'list',
  'set',
  'zset',
] as const satisfies readonly RedisType[];
export type DatasetType = (typeof DATASET_TYPES)[number];

/** Members per collection (hash fields, list items, set and zset members). */
export const COLLECTION_SIZE = 4;

export function datasetKey(prefix: string, i: number): string {
  return `${prefix}${i}`;
}

export function datasetType(i: number): DatasetType {
  return DATASET_TYPES[i % DATASET_TYPES.length] as DatasetType;
}

/** The Redis command that creates key i (a fresh key: one command per type). */
export function datasetCommand(prefix: string, i: number): [string, ...Array<string | number>] {
  const key = datasetKey(prefix, i);
  const m = Array.from({ length: COLLECTION_SIZE }, (_, j) => `m${j}-${i}`);
  switch (datasetType(i)) {
    case 'string':
      return ['set', key, `value-${i}-${'x'.repeat(24)}`];
    case 'hash':
      return ['hset', key, ...m.flatMap((f, j) => [f, `v${j}-${i}`])];
    case 'list':
      return ['rpush', key, ...m];
    case 'set':
      return ['sadd', key, ...m];
    case 'zset':
      return ['zadd', key, ...m.flatMap((member, j) => [j + i / 1000, member])];
  }
}

const BATCH = 500;
const DYNAMO_BATCH = 25; // BatchWriteItem's maximum
const LOAD_CONCURRENCY = 8;

export interface DatasetTarget {
  readonly table: string;
  readonly sourceId: string;
  readonly db: number;
  readonly writer: string;
}

/**
 * Writes `keys` keys of mixed types into Redis, then the items the applier would write for them (read back
 * with capture's own versioned script, turned into events by capture's own mapping, written by eventToItem),
 * so the table equals Redis without running the pipeline. Reports progress in items written.
 */
export async function loadDataset(
  redis: Redis,
  dynamo: DynamoDBClient,
  target: DatasetTarget,
  prefix: string,
  keys: number,
  onProgress: (loaded: number) => void,
): Promise<void> {
  const reader = new VersionedReader(redis);
  const ctx = { sourceId: target.sourceId, db: target.db, event: 'snapshot', origin: 'snapshot' } as const;
  let next = 0;
  let loaded = 0;
  const worker = async () => {
    while (next < keys) {
      const from = next;
      const to = Math.min(keys, from + BATCH);
      next = to;
      const pipeline = redis.pipeline();
      for (let i = from; i < to; i++) pipeline.call(...datasetCommand(prefix, i));
      await pipeline.exec();
      const names = Array.from({ length: to - from }, (_, j) => Buffer.from(datasetKey(prefix, from + j)));
      const items = (await reader.read(names, true)).map((state) => {
        const captured = keyStateToEvent(state, ctx);
        if (!('event' in captured))
          throw new Error(`cannot load ${state.key.toString()}: ${captured.rejection.reason}`);
        return eventToItem(captured.event, {
          writer: target.writer,
          appliedAt: Date.now(),
          tombstoneTtlSeconds: 86_400,
        });
      });
      for (let j = 0; j < items.length; j += DYNAMO_BATCH)
        await writeBatch(dynamo, target.table, items.slice(j, j + DYNAMO_BATCH));
      loaded += items.length;
      onProgress(loaded);
    }
  };
  await Promise.all(Array.from({ length: LOAD_CONCURRENCY }, worker));
}

/** BatchWriteItem until DynamoDB has taken every item (it returns the ones it throttled as unprocessed). */
async function writeBatch(dynamo: DynamoDBClient, table: string, items: Item[]): Promise<void> {
  let requests = items.map((Item) => ({ PutRequest: { Item } }));
  for (let round = 0; requests.length > 0; round++) {
    if (round === 12)
      throw new Error(`DynamoDB left ${requests.length} items unprocessed 12 times (throttled)`);
    if (round > 0) await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** round, 2_000)));
    const out = await dynamo.send(new BatchWriteItemCommand({ RequestItems: { [table]: requests } }));
    requests = (out.UnprocessedItems?.[table] ?? []).flatMap((w) =>
      w.PutRequest?.Item ? [{ PutRequest: { Item: w.PutRequest.Item } }] : [],
    );
  }
}
