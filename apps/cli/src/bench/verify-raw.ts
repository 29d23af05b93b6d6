import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Item } from '@cdc/parity';
import type Redis from 'ioredis';
import { datasetKey, datasetType } from './verify-dataset';

export interface RawPass {
  /** Items or keys read (and found). */
  readonly count: number;
  readonly ms: number;
}

/**
 * The raw DynamoDB side: a parallel Scan with the verifier's segments and page size (the same ScanCommand,
 * one sequential page loop per segment, segments concurrent), doing nothing with the items.
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan
 */
export async function rawScan(
  dynamo: DynamoDBClient,
  table: string,
  segments: number,
  pageSize: number,
  onPage?: (items: number) => void,
): Promise<RawPass> {
  const t0 = performance.now();
  const counts = await Promise.all(
    Array.from({ length: segments }, async (_, segment) => {
      let n = 0;
      let start: Item | undefined;
      do {
        const out = await dynamo.send(
          new ScanCommand({
            TableName: table,
            Segment: segment,
            TotalSegments: segments,
            Limit: pageSize,
            ...(start ? { ExclusiveStartKey: start } : {}),
          }),
        );
        n += out.Items?.length ?? 0;
        onPage?.(out.Items?.length ?? 0);
        start = out.LastEvaluatedKey;
      } while (start);
      return n;
    }),
  );
  return { count: counts.reduce((a, b) => a + b, 0), ms: performance.now() - t0 };
}

/**
 * The raw Redis side: every key's value, `pageSize` keys per round trip, `workers` round trips in flight (the
 * verifier's segment count) on one connection: one MGET for the batch's strings and, in the same pipeline, one
 * HGETALL / LRANGE / SMEMBERS / ZRANGE WITHSCORES per collection. It knows each key's type from the dataset,
 * so unlike the verifier's script it asks no TYPE and no PTTL. Counts the keys that came back with a value.
 */
export async function rawRedisReads(
  redis: Redis,
  prefix: string,
  keys: number,
  workers: number,
  pageSize: number,
  onBatch?: (keys: number) => void,
): Promise<RawPass> {
  const t0 = performance.now();
  let next = 0;
  let found = 0;
  const worker = async () => {
    while (next < keys) {
      const from = next;
      const to = Math.min(keys, from + pageSize);
      next = to;
      const strings: string[] = [];
      const pipeline = redis.pipeline();
      for (let i = from; i < to; i++) {
        const key = datasetKey(prefix, i);
        const type = datasetType(i);
        if (type === 'string') strings.push(key);
        else if (type === 'hash') pipeline.hgetallBuffer(key);
        else if (type === 'list') pipeline.lrangeBuffer(key, 0, -1);
        else if (type === 'set') pipeline.smembersBuffer(key);
        else pipeline.zrangeBuffer(key, 0, -1, 'WITHSCORES');
      }
      if (strings.length > 0) pipeline.mgetBuffer(...strings);
      const replies = (await pipeline.exec()) ?? [];
      const mget = strings.length > 0 ? replies.pop() : undefined;
      for (const [err] of mget ? [...replies, mget] : replies) if (err) throw err;
      for (const [, value] of replies) found += nonEmpty(value) ? 1 : 0;
      found += ((mget?.[1] ?? []) as Array<Buffer | null>).filter((v) => v !== null).length;
      onBatch?.(to - from);
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return { count: found, ms: performance.now() - t0 };
}

/** A collection reply with something in it (HGETALL answers an object, the others an array). */
function nonEmpty(reply: unknown): boolean {
  if (Array.isArray(reply)) return reply.length > 0;
  return typeof reply === 'object' && reply !== null && Object.keys(reply).length > 0;
}
