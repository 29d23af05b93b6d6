import {
  DeleteTableCommand,
  DescribeTableCommand,
  type DynamoDBClient,
  ResourceNotFoundException,
  waitUntilTableNotExists,
} from '@aws-sdk/client-dynamodb';

// Apart from table.ts so that only `cdc teardown` reaches DeleteTable: deploy/iam/teardown.json grants it, and
// no app's policy does (test/unit/deploy-iam.spec.ts follows imports file by file).

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
