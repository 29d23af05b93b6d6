import { GetItemCommand, ListTablesCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { createDynamoClient, ensureTable } from '@cdc/dynamo';
import {
  type FaultProxy,
  type InjectedFault,
  startDynamoDbLocal,
  startFaultProxy,
  testConfig,
} from '@cdc/testing';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * The test helpers that break DynamoDB on purpose, on DynamoDB Local with the real SDK: the fault proxy's errors
 * are the exceptions the SDK knows (so its retry treats them as in AWS), and the private DynamoDB Local keeps its
 * tables and items across a kill -9 and restart.
 */
describe('fault proxy in front of DynamoDB Local', () => {
  const config = testConfig();
  const proxies: FaultProxy[] = [];
  afterEach(async () => {
    for (const p of proxies.splice(0)) await p.close();
  });

  const proxyClient = (endpoint: string, maxAttempts: number) =>
    createDynamoClient({ ...config.dynamo, endpoint }, maxAttempts);

  it('forwards every request unchanged at rate 0', async () => {
    const proxy = await startFaultProxy({ target: config.dynamo.endpoint as string, rate: 0 });
    proxies.push(proxy);
    const client = proxyClient(proxy.endpoint, 1);
    try {
      const { TableNames } = await client.send(new ListTablesCommand({}));
      expect(Array.isArray(TableNames)).toBe(true);
      expect(proxy.counts.forwarded).toBe(1);
      expect(proxy.injectedTotal()).toBe(0);
    } finally {
      client.destroy();
    }
  });

  it.each([
    ['throttling', 'ThrottlingException', 400],
    ['provisioned-throughput', 'ProvisionedThroughputExceededException', 400],
    ['internal-error', 'InternalServerError', 500],
  ] as const)(
    '%s reaches the SDK as %s (HTTP %d), a retryable error',
    async (kind: InjectedFault, name, status) => {
      const proxy = await startFaultProxy({
        target: config.dynamo.endpoint as string,
        rate: 1,
        kinds: [kind],
      });
      proxies.push(proxy);
      const client = proxyClient(proxy.endpoint, 2);
      try {
        const err = (await client.send(new ListTablesCommand({})).catch((e: unknown) => e)) as Error & {
          $metadata: { httpStatusCode?: number; attempts?: number };
        };
        expect(err.name).toBe(name);
        expect(err.$metadata.httpStatusCode).toBe(status);
        expect(err.$metadata.attempts).toBe(2); // the SDK retried it: it classifies it as transient/throttling
        expect(proxy.counts.injected[kind]).toBe(2);
        expect(proxy.counts.forwarded).toBe(0);
      } finally {
        client.destroy();
      }
    },
  );

  it('faults only the operations named, and setRate() turns the faults off and on', async () => {
    const proxy = await startFaultProxy({
      target: config.dynamo.endpoint as string,
      rate: 1,
      kinds: ['internal-error'],
      operations: ['PutItem'],
    });
    proxies.push(proxy);
    const client = proxyClient(proxy.endpoint, 1);
    const put = () =>
      client
        .send(new PutItemCommand({ TableName: 'no-such-table', Item: { pk: { S: 'k' } } }))
        .catch((e: Error) => e.name);
    try {
      await client.send(new ListTablesCommand({})); // not named: forwarded
      expect(await put()).toBe('InternalServerError');
      proxy.setRate(0);
      expect(await put()).toBe('ResourceNotFoundException'); // forwarded: DynamoDB Local's own answer
      proxy.setRate(1);
      expect(await put()).toBe('InternalServerError');
      expect(proxy.counts.injectedByOperation).toEqual({ PutItem: 2 });
      expect(proxy.counts.forwarded).toBe(2);
    } finally {
      client.destroy();
    }
  });

  it("at a third of requests faulted, the SDK's adaptive retry still lands every write", async () => {
    const admin = createDynamoClient(config.dynamo);
    await ensureTable(admin, config.table, true);
    admin.destroy();
    const proxy = await startFaultProxy({ target: config.dynamo.endpoint as string, rate: 1 / 3, seed: 3 });
    proxies.push(proxy);
    const client = proxyClient(proxy.endpoint, 10);
    try {
      for (let i = 0; i < 30; i++) {
        await client.send(
          new PutItemCommand({
            TableName: config.table,
            Item: { pk: { S: `proxy-${i}` }, ver: { N: String(i + 1) } },
          }),
        );
      }
      expect(proxy.injectedTotal()).toBeGreaterThan(0);
      expect(proxy.counts.injectedByOperation.PutItem).toBe(proxy.injectedTotal());
      expect(proxy.counts.forwarded).toBeGreaterThanOrEqual(30);
      const { Item } = await client.send(
        new GetItemCommand({ TableName: config.table, Key: { pk: { S: 'proxy-29' } }, ConsistentRead: true }),
      );
      expect(Item?.ver?.N).toBe('30');
    } finally {
      client.destroy();
    }
  });
});

describe('private DynamoDB Local', () => {
  it('keeps its tables and items across kill -9 and a restart on the same port', async () => {
    const ddb = await startDynamoDbLocal();
    try {
      const config = testConfig({ DYNAMODB_ENDPOINT: ddb.endpoint });
      const client = createDynamoClient(config.dynamo);
      await ensureTable(client, config.table, true);
      await client.send(
        new PutItemCommand({ TableName: config.table, Item: { pk: { S: 'k' }, ver: { N: '7' } } }),
      );
      const pid = ddb.pid;
      await ddb.kill('SIGKILL');
      expect(ddb.pid).toBeUndefined();
      await ddb.start();
      expect(ddb.pid).not.toBe(pid);
      const { Item } = await client.send(
        new GetItemCommand({ TableName: config.table, Key: { pk: { S: 'k' } }, ConsistentRead: true }),
      );
      expect(Item?.ver?.N).toBe('7');
      client.destroy();
    } finally {
      await ddb.stop();
    }
  });
});
