import { type DynamoDBClient, GetItemCommand } from '@aws-sdk/client-dynamodb';
import { ATTR, type Item } from '@cdc/parity';

/** Strongly consistent read of one item by its `pk` (the verifier's recheck). */
export async function getItem(client: DynamoDBClient, table: string, pk: string): Promise<Item | null> {
  const { Item: item } = await client.send(
    new GetItemCommand({ TableName: table, Key: { [ATTR.pk]: { S: pk } }, ConsistentRead: true }),
  );
  return item ?? null;
}
