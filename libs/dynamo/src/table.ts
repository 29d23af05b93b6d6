import {
  CreateTableCommand,
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateTimeToLiveCommand,
  waitUntilTableExists,
  waitUntilTableNotExists,
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

/** A table `cdc teardown` lists: its approximate item count (DescribeTable's, refreshed about every 6 h). */
export interface TableSummary {
  readonly table: string;
  readonly items: number;
  readonly status: string;
}

export async function tableSummary(client: DynamoDBClient, table: string): Promise<TableSummary | null> {
  try {
    const { Table } = await client.send(new DescribeTableCommand({ TableName: table }));
    return { table, items: Table?.ItemCount ?? 0, status: Table?.TableStatus ?? 'UNKNOWN' };
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return null;
    throw err;
  }
}

/** Deletes a table and waits until it is gone; a table already gone is fine. */
export async function deleteTable(client: DynamoDBClient, table: string): Promise<boolean> {
  try {
    await client.send(new DeleteTableCommand({ TableName: table }));
  } catch (err) {
    if (err instanceof ResourceNotFoundException) return false;
    throw err;
  }
  await waitUntilTableNotExists({ client, maxWaitTime: 300, minDelay: 1, maxDelay: 5 }, { TableName: table });
  return true;
}
