import { type ChangeEvent, ChangeEventCodec } from '@cdc/contracts';
import type { ConditionalWriter } from '@cdc/dynamo';
import type { Batch } from '@cdc/kafka';
import { createLogger, Metrics } from '@cdc/observability';
import { describe, expect, it } from 'vitest';
import { BatchApplier } from './batch-applier';
import type { DeadLetterSink } from './dead-letter';
import { batchFailurePolicy, DeadLetterError } from './failure-policy';
import { defaultItemMapper, type ItemMapper } from './item-mapper';
import type { PoisonMessage } from './plan-batch';

const codec = new ChangeEventCodec();

function event(key: string, version: bigint): Buffer {
  const e: ChangeEvent = {
    sourceId: 's',
    db: 0,
    key: Buffer.from(key),
    op: 'UPSERT',
    value: { type: 'string', data: Buffer.from(key) },
    version,
    expireAt: null,
    event: 'set',
    origin: 'live',
    capturedAt: 0,
  };
  return codec.encode(e);
}

function batchOf(values: Buffer[]): Batch {
  return {
    topic: 'cdc.s.changes',
    partition: 0,
    messages: values.map((value, i) => ({
      partition: 0,
      offset: String(i),
      key: null,
      value,
      headers: {},
      timestamp: '0',
    })),
    heartbeat: () => Promise.resolve(),
    isActive: () => true,
  };
}

/** The BatchApplier over a writer that answers per key, and a DLQ that records (or fails). */
function applier(
  answer: (pk: string) => Error | 'applied',
  opts: { dlqFails?: Error; mapItem?: ItemMapper } = {},
) {
  const dead: PoisonMessage[] = [];
  const writer = {
    putIfNewer: (_table: string, item: { pk?: { S?: string } }) => {
      const a = answer(item.pk?.S ?? '');
      return a === 'applied' ? Promise.resolve('applied' as const) : Promise.reject(a);
    },
  } as unknown as ConditionalWriter;
  const deadLetter: DeadLetterSink = {
    send: (_topic, poison) => {
      if (opts.dlqFails) return Promise.reject(opts.dlqFails);
      dead.push(...poison);
      return Promise.resolve();
    },
  };
  const a = new BatchApplier({
    codec,
    writer,
    table: 'cdc_s',
    dlqTopic: 'cdc.s.changes.dlq',
    mapItem: opts.mapItem ?? defaultItemMapper,
    concurrency: 4,
    signature: 'test',
    tombstoneTtlSeconds: 60,
    deadLetter,
    metrics: new Metrics({ defaultMetrics: false }),
    log: createLogger('silent'),
  });
  return { a, dead };
}

const named = (name: string, message = name) => Object.assign(new Error(message), { name });

describe('BatchApplier asks the failure policy', () => {
  it('an item DynamoDB refuses goes to the DLQ as ITEM_REJECTED; the rest of the batch applies', async () => {
    const { a, dead } = applier((pk) =>
      pk === 'big' ? named('ValidationException', 'Item too large') : 'applied',
    );
    const report = await a.apply(batchOf([event('big', 1n), event('ok', 1n), Buffer.from('garbage')]));
    expect(report).toMatchObject({ applied: 1, deadLettered: 2 });
    expect(dead.map((p) => p.code).sort()).toEqual(['BAD_MAGIC', 'ITEM_REJECTED']);
  });

  it('a mapping that throws is MAPPING_FAILED', async () => {
    const { a, dead } = applier(() => 'applied', {
      mapItem: () => {
        throw new Error('no such field');
      },
    });
    expect(await a.apply(batchOf([event('k', 1n)]))).toMatchObject({ applied: 0, deadLettered: 1 });
    expect(dead[0]).toMatchObject({ code: 'MAPPING_FAILED', reason: 'mapItem threw: no such field' });
  });

  it('a failed version condition that reaches it is counted stale, not an error', async () => {
    const { a } = applier(() => named('ConditionalCheckFailedException'));
    expect(await a.apply(batchOf([event('k', 1n)]))).toMatchObject({ stale: 1, deadLettered: 0 });
  });

  it('the table gone: the batch fails, nothing is dead-lettered, and the consumer hook says stop', async () => {
    const { a, dead } = applier(() =>
      named('ResourceNotFoundException', 'Cannot do operations on a non-existent table'),
    );
    const err = await a.apply(batchOf([event('k', 1n)])).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe('ResourceNotFoundException');
    expect(dead).toEqual([]);
    const decision = batchFailurePolicy({ table: 'cdc_s' })(err as Error, 1);
    expect(decision).toMatchObject({
      action: 'stop',
      message: expect.stringContaining('"cdc_s" does not exist'),
    });
  });

  it('throttling: the batch fails and is retried, nothing dead-lettered', async () => {
    const { a, dead } = applier(() => named('ThrottlingException'));
    const err = await a.apply(batchOf([event('k', 1n)])).catch((e: unknown) => e as Error);
    expect(batchFailurePolicy({ table: 'cdc_s' })(err as Error, 2)).toEqual({
      action: 'retry',
      delayMs: 2_000,
    });
    expect(dead).toEqual([]);
  });

  it('a DLQ write that fails fails the batch as a DeadLetterError (retried, never dropped)', async () => {
    const { a } = applier(() => 'applied', { dlqFails: named('KafkaJSProtocolError', 'too large') });
    const err = await a.apply(batchOf([Buffer.from('garbage')])).catch((e: unknown) => e as Error);
    expect(err).toBeInstanceOf(DeadLetterError);
    expect((err as Error).message).toContain('cdc.s.changes.dlq');
    expect(batchFailurePolicy({ table: 'cdc_s' })(err as Error, 1).action).toBe('retry');
  });
});
