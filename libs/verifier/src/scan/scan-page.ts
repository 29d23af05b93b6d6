import { type DynamoDBClient, ScanCommand } from '@aws-sdk/client-dynamodb';
import type { Item } from '@cdc/parity';

// Apart from table-reads.ts: the streaming verifier rechecks items (BatchGetItem) but never scans, and its IAM
// policy (deploy/iam/verifier.json) must not need dynamodb:Scan.

/** One page of one segment of a parallel Scan; `lastKey` null = the segment is done. */
export async function scanPage(
  client: DynamoDBClient,
  table: string,
  segment: { readonly index: number; readonly of: number },
  startKey: Item | null,
  limit: number,
  signal?: AbortSignal,
): Promise<{ items: Item[]; lastKey: Item | null }> {
  // https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Scan.html#Scan.ParallelScan
  const out = await client.send(
    new ScanCommand({
      TableName: table,
      Segment: segment.index,
      TotalSegments: segment.of,
      Limit: limit,
      ...(startKey ? { ExclusiveStartKey: startKey } : {}),
    }),
    signal ? { abortSignal: signal } : {},
  );
  return { items: out.Items ?? [], lastKey: out.LastEvaluatedKey ?? null };
}
