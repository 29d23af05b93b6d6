import { type PrivateDynamo, startPrivateDynamo } from '@cdc/stack';

/**
 * A private, file-backed DynamoDB Local for tests that stop and restart DynamoDB (never the shared one of the
 * stack). File-backed (-dbPath) so a restart on the same port keeps the tables, items and streams.
 */
export type TestDynamoDbLocal = PrivateDynamo;

export function startDynamoDbLocal(opts: { readyTimeoutMs?: number } = {}): Promise<TestDynamoDbLocal> {
  return startPrivateDynamo({ fastStart: true, fileBacked: true, ...opts });
}

/**
 * A private in-memory DynamoDB Local for a heavy suite (a Redis Cluster under continuous writes): its tables and
 * stream records go with it, so the shared one, which slows down as it accumulates them, stays fast for the
 * files after it. Full JIT: it serves thousands of writes, so throughput beats start-up time.
 */
export function startIsolatedDynamoDbLocal(): Promise<TestDynamoDbLocal> {
  return startPrivateDynamo({ fastStart: false, fileBacked: false });
}
