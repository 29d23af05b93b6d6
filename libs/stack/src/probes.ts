import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { EngineName } from './types';

/** DynamoDB Local accepts any credentials, but only letters and digits. */
export const LOCAL_DYNAMO_CREDENTIALS = { accessKeyId: 'local', secretAccessKey: 'local' } as const;

/** PONG, and whatever else `check` asks of the connected server. */
export async function probeRedis(
  url: string,
  timeoutMs = 2_000,
  check?: (client: Redis) => Promise<void>,
): Promise<void> {
  const client = new Redis(url, {
    lazyConnect: true,
    connectTimeout: timeoutMs,
    commandTimeout: timeoutMs,
    maxRetriesPerRequest: 0,
    retryStrategy: () => null, // one attempt per probe; the poll loop retries
    enableOfflineQueue: false,
  });
  client.on('error', () => undefined); // reported through the rejected connect/ping instead
  try {
    await client.connect();
    const pong = await client.ping();
    if (pong !== 'PONG') throw new Error(`unexpected PING reply ${String(pong)}`);
    await check?.(client);
  } finally {
    client.disconnect();
  }
}

const PROBE_TOPIC = '__cdc_stack_probe';

/**
 * Light: the broker answers metadata (describeCluster + listTopics). Deep (first start only): it can also create
 * a topic with an elected leader and delete it, i.e. the controller and the broker both work.
 */
export async function probeKafka(
  brokers: string,
  opts: { deep?: boolean; timeoutMs?: number } = {},
): Promise<void> {
  const timeoutMs = opts.timeoutMs ?? 5_000;
  const kafka = new Kafka({
    clientId: 'cdc-stack-probe',
    brokers: brokers.split(','),
    logLevel: logLevel.NOTHING,
    connectionTimeout: Math.min(timeoutMs, 1_000),
    requestTimeout: timeoutMs,
    retry: { retries: 0 },
  });
  const admin = kafka.admin({ retry: { retries: 0 } });
  try {
    await admin.connect();
    const cluster = await admin.describeCluster();
    if (cluster.brokers.length === 0 || cluster.controller === null)
      throw new Error('no broker/controller yet');
    const topics = await admin.listTopics();
    if (opts.deep) {
      if (!topics.includes(PROBE_TOPIC)) {
        await admin.createTopics({
          waitForLeaders: true,
          timeout: timeoutMs,
          topics: [{ topic: PROBE_TOPIC, numPartitions: 1, replicationFactor: 1 }],
        });
      }
      await admin.deleteTopics({ topics: [PROBE_TOPIC], timeout: timeoutMs });
    }
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}

export async function probeDynamo(endpoint: string, timeoutMs = 2_000): Promise<void> {
  const client = new DynamoDBClient({
    endpoint,
    region: 'us-east-1',
    credentials: LOCAL_DYNAMO_CREDENTIALS,
    maxAttempts: 1,
  });
  try {
    await client.send(new ListTablesCommand({ Limit: 1 }), { abortSignal: AbortSignal.timeout(timeoutMs) });
  } finally {
    client.destroy();
  }
}

export function probeEngine(name: EngineName, endpoint: string, deep = false): Promise<void> {
  switch (name) {
    case 'redis':
    case 'redis-node-2':
    case 'redis-node-3':
    case 'redis-node-4':
    case 'redis-node-5':
    case 'redis-node-6':
      return probeRedis(endpoint);
    case 'redis-replica':
      // A replica is ready once its link to the primary is up (it has the primary's data).
      return probeRedis(endpoint, 2_000, async (c) => {
        if (!(await c.info('replication')).includes('master_link_status:up'))
          throw new Error('the link to its primary is not up yet');
      });
    case 'kafka':
      return probeKafka(endpoint, { deep });
    case 'dynamodb':
      return probeDynamo(endpoint);
  }
}

/**
 * Backoff for readiness polls: starts short (redis answers in tens of ms) and is capped at 200 ms, because a
 * refused connection costs next to nothing and every ms after the engine is up counts in a test run's startup.
 */
export function nextDelay(prev: number): number {
  return prev <= 0 ? 20 : Math.min(200, Math.ceil(prev * 1.5));
}

export type ReadyFailure = { kind: 'exited'; detail: string } | { kind: 'timeout'; lastError: string };

/**
 * Polls probe until it resolves. Stops early when gone() reports the process died (its description is
 * returned), or after timeoutMs. Resolves with the elapsed ms since `since`, or a failure description.
 */
export async function waitReady(
  probe: () => Promise<void>,
  opts: { timeoutMs: number; since: number; gone: () => Promise<string | undefined> | string | undefined },
): Promise<{ ok: true; readyMs: number } | { ok: false; failure: ReadyFailure }> {
  const deadline = opts.since + opts.timeoutMs;
  let delay = 0;
  let lastError = 'no answer yet';
  for (;;) {
    const dead = await opts.gone();
    if (dead !== undefined) return { ok: false, failure: { kind: 'exited', detail: dead } };
    try {
      await probe();
      return { ok: true, readyMs: Date.now() - opts.since };
    } catch (e) {
      lastError = e instanceof Error ? e.message : String(e);
    }
    // The process may have died while the probe was failing: report the exit, not a timeout.
    const deadNow = await opts.gone();
    if (deadNow !== undefined) return { ok: false, failure: { kind: 'exited', detail: deadNow } };
    if (Date.now() >= deadline) return { ok: false, failure: { kind: 'timeout', lastError } };
    delay = nextDelay(delay);
    await sleep(Math.min(delay, Math.max(0, deadline - Date.now())));
  }
}
