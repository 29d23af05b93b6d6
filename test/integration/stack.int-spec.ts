import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { stackDown, stackStatus, stackUp, StackError, type StackUpResult } from '@cdc/stack';
import { Redis } from 'ioredis';
import { Kafka, logLevel, Partitioners } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Own state dirs, never .cdc/test-stack (the suite's global setup owns that one); the jar cache is shared.
const repo = resolve(__dirname, '../..');
const cacheDir = join(repo, '.cdc', 'engines');
const newStateDir = (tag: string): string =>
  join(repo, '.cdc', `stack-int-${tag}-${randomBytes(3).toString('hex')}`);
const log = (line: string): void => console.log(`[stack] ${line}`);

const pidGone = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return false;
  } catch {
    return true;
  }
};

/** Every java process whose command line mentions dir (from /proc, not from our own bookkeeping). */
const javaProcessesUnder = (dir: string): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        const argv = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
        return (argv[0] ?? '').endsWith('java') && argv.some((a) => a.includes(dir));
      } catch {
        return false;
      }
    })
    .map(Number);

const pidsOf = (r: { engines: Array<{ name: string; pid?: number }> }): Record<string, number | undefined> =>
  Object.fromEntries(r.engines.map((e) => [e.name, e.pid]));

describe('stack (native engines, Redis with a replica)', () => {
  const stateDir = newStateDir('main');
  let up: StackUpResult;

  beforeAll(async () => {
    up = await stackUp({ stateDir, cacheDir, fastStart: true, redis: 'replica', log });
  }, 600_000); // a first run fetches the Kafka jars

  afterAll(async () => {
    await stackDown({ stateDir }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('starts redis-server (a primary and its replica), Kafka and DynamoDB Local on 127.0.0.1 ports', () => {
    expect(up.reused).toBe(false);
    expect(up.endpoints.redisUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(up.endpoints.redisReplicaUrl).toMatch(/^redis:\/\/127\.0\.0\.1:\d+$/);
    expect(up.endpoints.redisReplicaUrl).not.toBe(up.endpoints.redisUrl);
    expect(up.endpoints.kafkaBrokers).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(up.endpoints.dynamodbEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(up.engines.map((e) => e.name).sort()).toEqual(['dynamodb', 'kafka', 'redis', 'redis-replica']);
    for (const e of up.engines) {
      expect(e).toMatchObject({ running: true, ready: true });
      expect(e.pid).toBeGreaterThan(0);
      expect(e.readyMs).toBeGreaterThan(0);
    }
    expect(existsSync(join(stateDir, 'state.json'))).toBe(true);
  });

  it('redis answers SET/GET and has keyspace notifications on', async () => {
    const redis = new Redis(up.endpoints.redisUrl, { maxRetriesPerRequest: 1 });
    try {
      await redis.set('stack:int', 'v1');
      expect(await redis.get('stack:int')).toBe('v1');
      const [, events] = (await redis.config('GET', 'notify-keyspace-events')) as [string, string];
      // KEA comes back normalised ("AKE"): keyspace + keyevent channels, all event classes.
      for (const flag of ['K', 'E', 'A']) expect(events).toContain(flag);
    } finally {
      redis.disconnect();
    }
  });

  it('the replica replicates the primary and publishes keyspace events itself (what capture reads there)', async () => {
    const primary = new Redis(up.endpoints.redisUrl, { maxRetriesPerRequest: 1 });
    const replica = new Redis(up.endpoints.redisReplicaUrl as string, { maxRetriesPerRequest: 1 });
    const sub = new Redis(up.endpoints.redisReplicaUrl as string, { maxRetriesPerRequest: 1 });
    try {
      const info = await replica.info('replication');
      expect(info).toContain('role:slave');
      expect(info).toContain(`master_port:${new URL(up.endpoints.redisUrl).port}`);
      const heard = new Promise<string>((resolveKey) =>
        sub.on('pmessage', (_p: string, _c: string, key: string) => resolveKey(key)),
      );
      await sub.psubscribe('__keyevent@0__:set');
      await primary.set('stack:int:replicated', 'v');
      expect(await heard).toBe('stack:int:replicated');
      expect(await replica.get('stack:int:replicated')).toBe('v');
    } finally {
      sub.disconnect();
      replica.disconnect();
      primary.disconnect();
    }
  });

  it('kafka creates a topic and round-trips a message', async () => {
    const kafka = new Kafka({
      clientId: 'stack-int',
      brokers: [up.endpoints.kafkaBrokers],
      logLevel: logLevel.NOTHING,
    });
    const topic = `stack-int-${randomBytes(3).toString('hex')}`;
    const admin = kafka.admin();
    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    const consumer = kafka.consumer({ groupId: `${topic}-g` });
    try {
      await admin.connect();
      await admin.createTopics({
        topics: [{ topic, numPartitions: 1, replicationFactor: 1 }],
        waitForLeaders: true,
      });
      await producer.connect();
      await producer.send({ topic, messages: [{ key: 'k', value: 'hello' }] });
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: true });
      const received = new Promise<string>((resolveMsg) => {
        void consumer.run({
          eachMessage: ({ message }) => Promise.resolve(resolveMsg(message.value?.toString() ?? '')),
        });
      });
      expect(await received).toBe('hello');
    } finally {
      await consumer.disconnect();
      await producer.disconnect();
      await admin.disconnect();
    }
  });

  it('dynamodb creates a table with a stream and round-trips an item', async () => {
    const ddb = new DynamoDBClient({
      endpoint: up.endpoints.dynamodbEndpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
    });
    try {
      const created = await ddb.send(
        new CreateTableCommand({
          TableName: 'stack_int',
          BillingMode: 'PAY_PER_REQUEST',
          AttributeDefinitions: [{ AttributeName: 'pk', AttributeType: 'S' }],
          KeySchema: [{ AttributeName: 'pk', KeyType: 'HASH' }],
          StreamSpecification: { StreamEnabled: true, StreamViewType: 'NEW_AND_OLD_IMAGES' },
        }),
      );
      expect(created.TableDescription?.LatestStreamArn).toBeTruthy();
      await ddb.send(new PutItemCommand({ TableName: 'stack_int', Item: { pk: { S: 'a' }, v: { N: '1' } } }));
      const got = await ddb.send(
        new GetItemCommand({ TableName: 'stack_int', Key: { pk: { S: 'a' } }, ConsistentRead: true }),
      );
      expect(got.Item).toEqual({ pk: { S: 'a' }, v: { N: '1' } });
    } finally {
      ddb.destroy();
    }
  });

  it('a second stackUp reuses the running stack', async () => {
    const again = await stackUp({ stateDir, cacheDir, fastStart: true, redis: 'replica', log });
    expect(again.reused).toBe(true);
    expect(again.endpoints).toEqual(up.endpoints);
    expect(pidsOf(again)).toEqual(pidsOf(up));
  });

  it('a killed replica is restarted alone, on its port, and resyncs from its primary', async () => {
    const before = pidsOf(up);
    process.kill(before['redis-replica'] as number, 'SIGKILL');
    await expect.poll(() => pidGone(before['redis-replica'] as number), { timeout: 3_000 }).toBe(true);
    // No topology asked (as `cdc run` does): the running stack's, so it is repaired, not replaced by a single one.
    const again = await stackUp({ stateDir, cacheDir, fastStart: true, log });
    expect(again.endpoints).toEqual(up.endpoints);
    expect(again.actions.map((a) => [a.name, a.action])).toEqual([
      ['redis', 'kept'],
      ['kafka', 'kept'],
      ['dynamodb', 'kept'],
      ['redis-replica', 'restarted'],
    ]);
    const after = pidsOf(again);
    expect(after['redis-replica']).not.toBe(before['redis-replica']);
    expect([after.redis, after.kafka, after.dynamodb]).toEqual([before.redis, before.kafka, before.dynamodb]);
    const replica = new Redis(up.endpoints.redisReplicaUrl as string, { maxRetriesPerRequest: 1 });
    try {
      // Written on the primary before the kill (an earlier test): the replica has it again.
      expect(await replica.get('stack:int:replicated')).toBe('v');
    } finally {
      replica.disconnect();
    }
    up = again;
  });

  it('stackStatus reports every engine running and ready', async () => {
    const status = await stackStatus({ stateDir });
    expect(status.endpoints).toEqual(up.endpoints);
    expect(status.engines.map((e) => [e.name, e.running, e.ready]).sort()).toEqual([
      ['dynamodb', true, true],
      ['kafka', true, true],
      ['redis', true, true],
      ['redis-replica', true, true],
    ]);
  });

  it('stackDown stops every process, JVMs included, and keeps the logs', async () => {
    const { stopped } = await stackDown({ stateDir, log });
    expect(stopped.map((e) => e.name).sort()).toEqual(['dynamodb', 'kafka', 'redis', 'redis-replica']);
    // The engines are children of this worker; give it a moment to reap them.
    for (const e of up.engines)
      await expect.poll(() => pidGone(e.pid as number), { timeout: 3_000 }).toBe(true);
    expect(javaProcessesUnder(stateDir)).toEqual([]);
    expect(existsSync(join(stateDir, 'state.json'))).toBe(false);
    expect(existsSync(join(stateDir, 'kafka'))).toBe(false);
    expect(existsSync(join(stateDir, 'kafka.log'))).toBe(true);
    expect((await stackStatus({ stateDir })).engines).toEqual([]);
    expect(await stackDown({ stateDir })).toEqual({ stopped: [] }); // nothing running: fine
  }, 60_000);
});

describe('stack: concurrent and partial stacks', () => {
  const stateDir = newStateDir('race');

  afterAll(async () => {
    await stackDown({ stateDir }).catch(() => undefined);
    rmSync(stateDir, { recursive: true, force: true });
  }, 60_000);

  it('starts one stack; the second caller waits and reuses it', async () => {
    const [a, b] = await Promise.all([
      stackUp({ stateDir, cacheDir, fastStart: true }),
      stackUp({ stateDir, cacheDir, fastStart: true }),
    ]);
    expect([a.reused, b.reused].sort()).toEqual([false, true]);
    expect(pidsOf(a)).toEqual(pidsOf(b));
    expect(javaProcessesUnder(stateDir)).toHaveLength(2); // one Kafka, one DynamoDB Local

    // One engine dies: the next stackUp restarts it alone (stack-restart.int-spec.ts has the details).
    const before = pidsOf(a);
    process.kill(before.redis as number, 'SIGKILL');
    await expect.poll(() => pidGone(before.redis as number), { timeout: 3_000 }).toBe(true);
    const c = await stackUp({ stateDir, cacheDir, fastStart: true });
    expect(c.reused).toBe(false);
    expect(c.endpoints).toEqual(a.endpoints);
    expect(pidsOf(c).redis).not.toBe(before.redis);
    expect([pidsOf(c).kafka, pidsOf(c).dynamodb]).toEqual([before.kafka, before.dynamodb]);
    expect(javaProcessesUnder(stateDir)).toHaveLength(2);

    await stackDown({ stateDir });
    expect(javaProcessesUnder(stateDir)).toEqual([]);
  }, 300_000);
});

describe('stack: failures', () => {
  const scratch = newStateDir('fail');
  const bin = join(scratch, 'bin');

  beforeAll(() => {
    mkdirSync(bin, { recursive: true });
    // A PATH with redis-server and mvn but no java.
    for (const tool of ['redis-server', 'mvn']) symlinkSync(`/usr/bin/${tool}`, join(bin, tool));
  });

  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('without java on PATH: JAVA_MISSING with the install command, nothing started', async () => {
    const stateDir = join(scratch, 'nojava');
    const err = await stackUp({ stateDir, cacheDir, env: { PATH: bin } }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StackError);
    expect((err as StackError).code).toBe('JAVA_MISSING');
    expect((err as StackError).message).toContain('apt-get install -y openjdk-17-jre-headless');
    expect(existsSync(join(stateDir, 'state.json'))).toBe(false);
  });

  it('an engine that dies at start: ENGINE_EXITED with its log, and the others are stopped', async () => {
    // A "java" that passes the version check and then fails like a broken JVM would.
    const fakeHome = join(scratch, 'fake-jdk');
    mkdirSync(join(fakeHome, 'bin'), { recursive: true });
    writeFileSync(
      join(fakeHome, 'bin', 'java'),
      '#!/bin/sh\nif [ "$1" = "-version" ]; then echo \'openjdk version "17.0.99"\' >&2; exit 0; fi\n' +
        'echo "Error occurred during initialization of VM (fake)"; exit 1\n',
      { mode: 0o755 },
    );
    const stateDir = join(scratch, 'dies');
    const err = await stackUp({ stateDir, cacheDir, javaHome: fakeHome }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StackError);
    expect((err as StackError).code).toBe('ENGINE_EXITED');
    expect((err as StackError).message).toContain('Error occurred during initialization of VM (fake)');
    // redis-server was spawned alongside (its log exists): it must not be left behind.
    expect(existsSync(join(stateDir, 'redis.log'))).toBe(true);
    expect(existsSync(join(stateDir, 'state.json'))).toBe(false);
    expect((await stackStatus({ stateDir })).engines).toEqual([]);
    const liveRedisUnder = (dir: string): string[] =>
      readdirSync('/proc').filter((d) => {
        try {
          const live = readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1]?.[0] !== 'Z';
          return (
            live &&
            readFileSync(`/proc/${d}/cmdline`, 'utf8').includes('redis-server') &&
            readlinkSync(`/proc/${d}/cwd`).startsWith(dir)
          );
        } catch {
          return false;
        }
      });
    expect(liveRedisUnder(stateDir)).toEqual([]);
  }, 60_000);
});
