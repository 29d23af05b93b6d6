import { stackDown, stackUp, StackError, type StackUpResult } from '@cdc/stack';
import { Cluster, Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 13 item 2: `stackUp` on a stack with dead engines restarts only those, on their own ports and data, and
 * leaves the live ones (and whatever runs against them) alone. Its own state dir, never .cdc/test-stack.
 */
const repo = resolve(__dirname, '../..');
const cacheDir = join(repo, '.cdc', 'engines');
const stateDir = join(repo, '.cdc', `stack-int-restart-${randomBytes(3).toString('hex')}`);
const log = (line: string): void => console.log(`[stack] ${line}`);

const pidGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

const byName = (r: StackUpResult) => Object.fromEntries(r.engines.map((e) => [e.name, e]));
const actionOf = (r: StackUpResult, name: string) => r.actions.find((a) => a.name === name);

async function killHard(pid: number): Promise<void> {
  process.kill(pid, 'SIGKILL');
  await expect.poll(() => pidGone(pid), { timeout: 5_000 }).toBe(true);
}

describe('stack up with dead engines', () => {
  let first: StackUpResult;
  let kafka: Kafka;
  const topic = `restart-${randomBytes(3).toString('hex')}`;

  beforeAll(async () => {
    first = await stackUp({ stateDir, cacheDir, fastStart: true, log });
    kafka = new Kafka({
      clientId: 'stack-restart',
      brokers: [first.endpoints.kafkaBrokers],
      logLevel: logLevel.NOTHING,
    });
  }, 600_000);

  afterAll(async () => {
    await stackDown({ stateDir }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('a fresh stack reports every engine as started', () => {
    expect(first.reused).toBe(false);
    expect(first.actions.map((a) => [a.name, a.action])).toEqual([
      ['redis', 'started'],
      ['kafka', 'started'],
      ['dynamodb', 'started'],
    ]);
  });

  it('restarts a killed Kafka and Redis on their ports; DynamoDB Local keeps its pid; Kafka keeps its data', async () => {
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await admin.connect();
    await admin.createTopics({
      topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
      waitForLeaders: true,
    });
    await producer.connect();
    await producer.send({ topic, messages: [{ key: 'k', value: 'written before the crash' }] });
    await producer.disconnect();
    await admin.disconnect();

    const before = byName(first);
    await killHard(before.kafka?.pid as number);
    await killHard(before.redis?.pid as number);

    const again = await stackUp({ stateDir, cacheDir, fastStart: true, log });
    const after = byName(again);
    expect(again.reused).toBe(false);
    expect(again.endpoints).toEqual(first.endpoints);
    expect(actionOf(again, 'dynamodb')?.action).toBe('kept');
    expect(after.dynamodb?.pid).toBe(before.dynamodb?.pid);
    for (const name of ['kafka', 'redis']) {
      expect(actionOf(again, name)?.action).toBe('restarted');
      expect(after[name]?.port).toBe(before[name]?.port);
      expect(after[name]?.pid).not.toBe(before[name]?.pid);
      expect(after[name]).toMatchObject({ running: true, ready: true });
    }
    expect(actionOf(again, 'redis')?.detail).toBe(
      `redis restarted on :${before.redis?.port} (empty: the local stack's Redis keeps no data)`,
    );
    expect(actionOf(again, 'kafka')?.detail).toContain('data kept');

    // Redis answers on the old URL; Kafka still has the topic and the message written before the kill.
    const redis = new Redis(first.endpoints.redisUrl, { maxRetriesPerRequest: 1 });
    expect(await redis.ping()).toBe('PONG');
    redis.disconnect();
    const reader = kafka.admin();
    await reader.connect();
    expect(await reader.listTopics()).toContain(topic);
    const [offsets] = await reader.fetchTopicOffsets(topic);
    expect(offsets?.high).toBe('1');
    await reader.disconnect();
    const consumer = kafka.consumer({ groupId: `${topic}-g` });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const value = await new Promise<string>((resolveValue) => {
      void consumer.run({
        eachMessage: ({ message }) => Promise.resolve(resolveValue(String(message.value))),
      });
    });
    await consumer.disconnect();
    expect(value).toBe('written before the crash');

    // All alive again: the next call keeps everything.
    const third = await stackUp({ stateDir, cacheDir, fastStart: true, log });
    expect(third.reused).toBe(true);
    expect(third.actions.every((a) => a.action === 'kept')).toBe(true);
  }, 300_000);

  it('refuses with PORT_TAKEN, naming the engine and port, when another process holds a dead engine’s port', async () => {
    const before = byName(await stackUp({ stateDir, cacheDir, fastStart: true, log }));
    const port = before.redis?.port as number;
    await killHard(before.redis?.pid as number);
    const squatter: Server = createServer();
    await new Promise<void>((ok) => squatter.listen(port, '127.0.0.1', ok));
    try {
      const err = await stackUp({ stateDir, cacheDir, fastStart: true, log }).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(StackError);
      expect((err as StackError).code).toBe('PORT_TAKEN');
      expect((err as StackError).message).toContain(`redis is down and its port ${port} is now taken`);
      // Nothing else was touched.
      expect(pidGone(before.kafka?.pid as number)).toBe(false);
      expect(pidGone(before.dynamodb?.pid as number)).toBe(false);
    } finally {
      await new Promise<void>((ok) => squatter.close(() => ok()));
    }
    const healed = await stackUp({ stateDir, cacheDir, fastStart: true, log });
    expect(actionOf(healed, 'redis')?.action).toBe('restarted');
    expect(byName(healed).redis?.port).toBe(port);
    expect(byName(healed).kafka?.pid).toBe(before.kafka?.pid);
  }, 120_000);
});

describe('stack up with a dead Redis Cluster primary', () => {
  const clusterDir = join(repo, '.cdc', `stack-int-restart-cluster-${randomBytes(3).toString('hex')}`);

  afterAll(async () => {
    await stackDown({ stateDir: clusterDir }).catch(() => undefined);
    rmSync(clusterDir, { recursive: true, force: true });
  }, 60_000);

  it('waits for its replica to take over, restarts it alone on its port, and the shard keeps its data', async () => {
    const first = await stackUp({ stateDir: clusterDir, cacheDir, fastStart: true, redis: 'cluster', log });
    const seeds = (first.endpoints.redisClusterNodes as string).split(',').map((hp) => {
      const [host, port] = hp.split(':');
      return { host: host as string, port: Number(port) };
    });
    const write = new Cluster(seeds, { lazyConnect: true });
    await write.connect();
    await write.set('restart:k', 'kept');
    // The primary serving the key's slot, as an engine of the stack.
    const slot = Number(await write.cluster('KEYSLOT', 'restart:k'));
    const ranges = await write.cluster('SLOTS');
    const owner = ranges.find(([from, to]) => slot >= from && slot <= to);
    write.disconnect();
    const victim = first.engines.find((e) => e.port === owner?.[2]?.[1]);
    expect(victim?.pid).toBeGreaterThan(0);
    await killHard(victim?.pid as number);

    const again = await stackUp({ stateDir: clusterDir, cacheDir, fastStart: true, redis: 'cluster', log });
    expect(again.endpoints).toEqual(first.endpoints);
    const name = victim?.name as string;
    expect(actionOf(again, name)?.detail).toBe(
      `${name} restarted on :${victim?.port} (rejoined the cluster as a replica: its replica had taken over ` +
        'its slots with their data)',
    );
    for (const e of first.engines.filter((x) => x.name !== name)) {
      expect(actionOf(again, e.name)?.action).toBe('kept');
      expect(byName(again)[e.name]?.pid).toBe(e.pid);
    }
    const read = new Cluster(seeds, { lazyConnect: true });
    await read.connect();
    try {
      expect(await read.get('restart:k')).toBe('kept');
    } finally {
      read.disconnect();
    }
  }, 300_000);
});
