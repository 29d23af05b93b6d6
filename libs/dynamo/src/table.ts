import {
  CreateTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
} from '@aws-sdk/client-dynamodb';
import { ATTR } from '@cdc/parity';

export interface TableInfo {
  readonly table: string;
  readonly streamArn: string | undefined;
  readonly created: boolean;
}

export class TableMissingError extends Error {
  constructor(table: string) {
    super(
      `DynamoDB table "${table}" does not exist. Create it (partition key "pk" of type S, a stream with ` +
        `NEW_AND_OLD_IMAGES, TTL on "expireAt"), or set CDC_CREATE_TABLE=true to let the replicator create it.`,
    );
    this.name = 'TableMissingError';
  }
}

export async function describeTable(client: DynamoDBClient, table: string): Promise<TableInfo | null> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    return { table, streamArn: Table?.LatestStreamArn, created: false };
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return null;
    throw err;
  }
}

/**
 * One table per source: `pk` (S) hash key, on-demand capacity, a stream with new and old images (the
 * verifier's input), TTL on `expireAt` (Redis TTLs and tombstone retention). docs/item-layout.md.
 */
export async function ensureTable(
  client: DynamoDBClient,
  table: string,
  create: boolean,
): Promise<TableInfo> {
  const existing = await describeTable(client, table);
  if (existing) return existing;
  if (!create) throw new TableMissingError(table);
  try {
    await client.send(
      new CreateTableCommand({
        TableName: table,
        AttributeDefinitions: [{ AttributeName: ATTR.pk, AttributeType: 'S' }],
        KeySchema: [{ AttributeName: ATTR.pk, KeyType: 'HASH' }],
        BillingMode: 'PAY_PER_REQUEST',
        StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
      }),
    );
  } catch (err) {
    if (!(err instanceof ResourceInUseException)) throw err; // another process created it first
  }
  await waitUntilTableExists({ client, maxWaitTime: 120, minDelay: 1, maxDelay: 2 }, { TableName: table });
  await client
    .send(
      new UpdateTimeToLiveCommand({
        TableName: table,
        TimeToLiveSpecification: { AttributeName: ATTR.expireAt, Enabled: true },
      }),
    )
    .catch((err: Error) => {
      // Already enabled by a concurrent creator: fine.
      if (!/already enabled|TimeToLive is already/i.test(err.message)) throw err;
    });
  const info = await describeTable(client, table);
  return { table, streamArn: info?.streamArn, created: true };
}
