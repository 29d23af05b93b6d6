import { type PrivateDynamo, startPrivateDynamo } from '@cdc/stack';

/**
 * A private, file-backed DynamoDB Local for tests that stop and restart DynamoDB (never the shared one of the
 * stack). File-backed (-dbPath) so a restart on the same port keeps the tables, items and streams.
 */
export type TestDynamoDbLocal = PrivateDynamo;

export function startDynamoDbLocal(opts: { readyTimeoutMs?: number } = {}): Promise<TestDynamoDbLocal> {
  return startPrivateDynamo({ fastStart: true, fileBacked: true, ...opts });
}
