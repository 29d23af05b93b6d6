import { BatchGetItemCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { ATTR, type Item } from '@cdc/parity';

const BATCH_GET_MAX = 100;
const MAX_UNPROCESSED_ROUNDS = 12;

/**
 * Strongly consistent reads of many items by `pk` (BatchGetItem, 100 per call), keyed by pk. Keys DynamoDB
 * leaves unprocessed (throttling) are asked again with backoff.
 * https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_BatchGetItem.html
 */
export async function batchGetItems(
  client: DynamoDBClient,
  table: string,
  pks: readonly string[],
  attributes?: readonly string[],
): Promise<Map<string, Item>> {
  const found = new Map<string, Item>();
  const unique = [...new Set(pks)]; // BatchGetItem rejects a request with duplicate keys
  const projection = attributes
    ? {
        ProjectionExpression: attributes.map((_, i) => `#a${i}`).join(', '),
        ExpressionAttributeNames: Object.fromEntries(attributes.map((a, i) => [`#a${i}`, a])),
      }
    : {};
  for (let i = 0; i < unique.length; i += BATCH_GET_MAX) {
    let keys: Item[] = unique.slice(i, i + BATCH_GET_MAX).map((pk) => ({ [ATTR.pk]: { S: pk } }));
    for (let round = 0; keys.length > 0; round++) {
      if (round === MAX_UNPROCESSED_ROUNDS)
        throw new Error(`DynamoDB left ${keys.length} keys unprocessed ${round} times (throttled)`);
      if (round > 0) await new Promise((r) => setTimeout(r, Math.min(50 * 2 ** round, 2_000)));
      const out = await client.send(
        new BatchGetItemCommand({
          RequestItems: { [table]: { Keys: keys, ConsistentRead: true, ...projection } },
        }),
      );
      for (const item of out.Responses?.[table] ?? []) {
        const pk = item[ATTR.pk]?.S;
        if (pk !== undefined) found.set(pk, item);
      }
      keys = out.UnprocessedKeys?.[table]?.Keys ?? [];
    }
  }
  return found;
}
