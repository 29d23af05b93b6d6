import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { ChangeEventCodec, type ChangeEvent } from '@cdc/contracts';
import { createKafka, DlqStore, type Kafka, type Admin, readTopicToEnd } from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { createRedisClient } from '@cdc/redis';
import {
  bootPipeline,
  exited,
  readItem,
  startRedisServer,
  testConfig,
  type TestRedisServer,
  waitFor,
} from '@cdc/testing';
import type { StatusReport } from '@cdc/verifier';
import type { INestApplicationContext } from '@nestjs/common';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * Issue 13 part 5: `cdc dlq list | show | accept | redrive` and the status DLQ check, on real engines. The DLQ
 * records come through the real pipeline: capture refuses a stream (UNSUPPORTED_TYPE) and a value over
 * CDC_MAX_EVENT_BYTES (VALUE_TOO_LARGE); the applier dead-letters garbage written to the changes topic
 * (BAD_MAGIC) and an item DynamoDB refuses (a key over the 2048-byte partition-key limit: ITEM_REJECTED; the
 * event limit is set above that key's event, or capture would refuse it first).
 * A private redis-server, so no other suite's keys or notifications interfere.
 */
const ROOT = join(__dirname, '..', '..');
const CLI = join(ROOT, 'bin', 'cdc.js');

interface Row {
  id: string;
  code: string;
  kind: string;
  status: string;
  key: string;
  size: number;
  rejectedBy: string | null;
  source: { topic: string; partition: number; offset: string } | null;
}

describe('cdc dlq on real engines', () => {
  let server: TestRedisServer;
  let app: INestApplicationContext | undefined;
  let redis: Redis;
  let kafka: Kafka;
  let admin: Admin;
  const home = mkdtempSync(join(tmpdir(), 'cdc-dlq-'));
  let config: ReturnType<typeof testConfig>;
  let env: NodeJS.ProcessEnv;

  async function cli(args: string[], extra: NodeJS.ProcessEnv = {}) {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...env, ...extra },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    return { code: await exited(child), out, err };
  }

  async function json<T>(args: string[], extra: NodeJS.ProcessEnv = {}, codes = [0]): Promise<T> {
    const r = await cli([...args, '--json'], extra);
    expect(codes, `cdc ${args.join(' ')} exited ${r.code}: ${r.err}`).toContain(r.code);
    return JSON.parse(r.out) as T;
  }

  const list = (...args: string[]) => json<{ total: number; records: Row[] }>(['dlq', 'list', ...args]);
  const dlqCheck = async () => {
    const report = await json<StatusReport>(['status'], {}, [0, 2]);
    return report.checks.find((c) => c.name === 'dlq');
  };
  /** Waits, in-process, until the DLQ holds `n` records (capture and the applier write them asynchronously). */
  const dlqHolds = (n: number) =>
    waitFor(
      `${n} DLQ records`,
      async () => ((await new DlqStore(kafka, admin, config).standing()).records >= n ? true : undefined),
      {
        timeoutMs: 60_000,
        intervalMs: 500,
      },
    );

  beforeAll(async () => {
    expect(existsSync(CLI), 'run `npm run build` first').toBe(true);
    server = await startRedisServer({ args: ['--notify-keyspace-events', 'KEA'] });
    config = testConfig({ REDIS_URL: server.url, CDC_MAX_EVENT_BYTES: '2600' });
    const { kafka: k } = config.require('kafka');
    env = {
      ...process.env,
      CDC_HOME: home,
      REDIS_URL: server.url,
      KAFKA_BROKERS: k.brokers.join(','),
      DYNAMODB_ENDPOINT: config.dynamo.endpoint,
      CDC_SOURCE_ID: config.sourceId,
      CDC_TOPIC_PARTITIONS: '3',
      CDC_MAX_EVENT_BYTES: '2600',
      AWS_ACCESS_KEY_ID: 'local',
      AWS_SECRET_ACCESS_KEY: 'local',
      AWS_REGION: 'us-east-1',
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
      LOG_LEVEL: 'warn',
    };
    ({ app } = await bootPipeline(config, [ApplierModule, CaptureModule]));
    redis = createRedisClient(config.require('redis').redis, 'e2e-dlq');
    await redis.connect();
    kafka = createKafka(k, createLogger('error'));
    admin = kafka.admin();
    await admin.connect();
  }, 120_000);

  afterAll(async () => {
    await admin?.disconnect();
    redis?.disconnect();
    await app?.close();
    await server?.stop();
    rmSync(home, { recursive: true, force: true });
  });

  it('lists, shows, accepts and redrives; status passes only when every record is explained', async () => {
    const src = config.sourceId;
    const stream = `${src}:events`;
    const big = `${src}:big`;
    const poison = `${src}:poison`;
    const long = `${src}:${'k'.repeat(2100)}`;

    // Not carried by policy: a stream, and a 4 KB value over CDC_MAX_EVENT_BYTES=2600 (under the 10 KB read guard).
    await redis.xadd(stream, '*', 'f', 'v');
    await redis.set(big, 'x'.repeat(4000));
    await dlqHolds(2);
    const first = await list();
    expect(first.total).toBe(2);
    const byCode = (rows: Row[], code: string) => rows.find((r) => r.code === code) as Row;
    expect(byCode(first.records, 'UNSUPPORTED_TYPE')).toMatchObject({
      key: stream,
      kind: 'not-carried',
      status: 'not-carried',
      rejectedBy: 'capture',
      source: null,
    });
    expect(byCode(first.records, 'VALUE_TOO_LARGE')).toMatchObject({
      key: big,
      kind: 'not-carried',
      status: 'not-carried',
    });
    expect((await list('--code', 'VALUE_TOO_LARGE')).records.map((r) => r.key)).toEqual([big]);
    // Explained by policy: the DLQ check passes with only these.
    expect(await dlqCheck()).toMatchObject({
      ok: true,
      detail: '2 records, all explained (2 not carried by policy)',
    });

    // The applier's: garbage on the changes topic (poison), and an item DynamoDB refuses (rejected).
    const producer = kafka.producer();
    await producer.connect();
    await producer.send({
      topic: config.topic,
      acks: -1,
      messages: [{ key: poison, value: Buffer.from('not an event') }],
    });
    await producer.disconnect();
    await redis.set(long, 'v');
    await dlqHolds(4);
    const open = (await list('--open')).records;
    expect(open.map((r) => [r.code, r.kind]).sort()).toEqual([
      ['BAD_MAGIC', 'poison'],
      ['ITEM_REJECTED', 'rejected'],
    ]);
    const bad = byCode(open, 'BAD_MAGIC');
    expect(bad).toMatchObject({
      key: poison,
      size: 12,
      rejectedBy: 'applier',
      source: { topic: config.topic },
    });

    // show: the rejected event decodes through the Avro codec; the garbage is previewed.
    const rejected = await json<{
      headers: Record<string, string>;
      value: { event?: ChangeEvent; utf8: string; decodeError?: string };
    }>(['dlq', 'show', byCode(open, 'ITEM_REJECTED').id]);
    expect(rejected.headers['cdc-error-code']).toBe('ITEM_REJECTED');
    expect(rejected.value.event).toMatchObject({
      key: long,
      op: 'UPSERT',
      origin: 'live',
      value: { type: 'string', data: 'v' },
    });
    const garbage = await json<typeof rejected>(['dlq', 'show', bad.id]);
    expect(garbage.value).toMatchObject({ utf8: 'not an event' });
    expect(garbage.value.decodeError?.length).toBeGreaterThan(0);

    // Unexplained records fail the check, naming the codes and the next command; accepting them passes it.
    const failing = await dlqCheck();
    expect(failing?.ok).toBe(false);
    expect(failing?.detail).toMatch(
      /2 unexplained records: 1 BAD_MAGIC .*1 ITEM_REJECTED .*cdc dlq accept 2$/,
    );
    const accepted = await json<{ accepted: Row[] }>(['dlq', 'accept', '2', '--note', 'seen in e2e']);
    expect(accepted.accepted.map((r) => r.id).sort()).toEqual(open.map((r) => r.id).sort());
    expect(await dlqCheck()).toMatchObject({
      ok: true,
      detail: '4 records, all explained (2 not carried by policy, 2 accepted)',
    });

    // The limit raised: redrive re-captures through the log. produced / key gone / still refused, per record.
    const tooLarge = byCode(first.records, 'VALUE_TOO_LARGE');
    const unsupported = byCode(first.records, 'UNSUPPORTED_TYPE');
    const redrive = await json<{
      results: Array<{ id: string; outcome: string; version: string; newCode?: string }>;
    }>(
      ['dlq', 'redrive', tooLarge.id, bad.id, unsupported.id],
      { CDC_MAX_EVENT_BYTES: '65536' },
      [2], // the stream is still refused
    );
    const outcome = (id: string) => redrive.results.find((r) => r.id === id);
    expect(outcome(tooLarge.id)).toMatchObject({ outcome: 'produced' });
    expect(outcome(bad.id)).toMatchObject({ outcome: 'deleted' }); // no such Redis key: a DELETE
    expect(outcome(unsupported.id)).toMatchObject({ outcome: 'refused', newCode: 'UNSUPPORTED_TYPE' });

    // The event is on the changes topic with origin=repair, and the item lands at its version.
    const version = BigInt(outcome(tooLarge.id)?.version ?? '0');
    const codec = new ChangeEventCodec();
    const repaired: ChangeEvent[] = [];
    await readTopicToEnd(kafka, admin, config.topic, {
      groupPrefix: 'e2e-dlq-topic',
      onRecord: (r) => {
        if (r.key?.toString() !== big || !r.value) return;
        const e = codec.decode(r.value);
        if (e.origin === 'repair') repaired.push(e);
      },
    });
    expect(repaired.map((e) => [e.version, e.event])).toEqual([[version, 'redrive']]);
    const item = await waitFor('the redriven item', () => readItem(config, big), {
      accept: (i) => i.version === version,
      timeoutMs: 60_000,
    });
    expect(item).toMatchObject({
      deleted: false,
      origin: 'repair',
      value: { type: 'string', data: Buffer.from('x'.repeat(4000)) },
    });

    // Resolved records say so; the stream's refusal left a new not-carried record, and status still passes.
    const after = await list();
    const status = new Map(after.records.map((r) => [r.id, r.status]));
    expect([status.get(tooLarge.id), status.get(bad.id), status.get(unsupported.id)]).toEqual([
      'redriven',
      'redriven',
      'not-carried',
    ]);
    expect(after.total).toBe(5);
    expect(await dlqCheck()).toMatchObject({ ok: true });
  }, 300_000);
});
