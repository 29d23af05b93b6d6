import type { Message } from '@cdc/kafka';
import { createLogger, Metrics } from '@cdc/observability';
import type { KeyState, VersionedReader } from '@cdc/redis';
import { describe, expect, it } from 'vitest';
import { CapturePipeline } from './capture-pipeline';

/**
 * The loop's batching logic only (linger, full batch, stop): reader and publisher are in-memory stand-ins.
 * The pipeline against real Redis and Kafka is covered by test/integration and test/e2e.
 */
function pipeline(opts: { lingerMs: number; batchSize: number; publishGate?: Promise<void> }) {
  const reads: number[] = [];
  const publishes: Array<{ keys: string[]; at: number }> = [];
  let version = 0n;
  const reader = {
    read: (keys: readonly Buffer[]): Promise<KeyState[]> => {
      reads.push(keys.length);
      return Promise.resolve(
        keys.map((key) => ({
          key,
          type: 'string' as const,
          version: ++version,
          expireAtMs: null,
          readAtMs: Date.now(),
          value: { type: 'string' as const, data: Buffer.from('v') },
        })),
      );
    },
  } as unknown as VersionedReader;
  const publisher = {
    publish: async (messages: Message[]) => {
      if (messages.length > 0) await opts.publishGate;
      if (messages.length > 0)
        publishes.push({ keys: messages.map((m) => String(m.key)), at: performance.now() });
    },
  };
  const metrics = new Metrics({ defaultMetrics: false });
  const p = new CapturePipeline(
    reader,
    publisher as never,
    publisher as never,
    { sourceId: 's', db: 0, batchSize: opts.batchSize, lingerMs: opts.lingerMs, maxEventBytes: 1 << 20 },
    metrics,
    createLogger('silent'),
  );
  return { p, reads, publishes, metrics };
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('CapturePipeline batching', () => {
  it('lingers: keys notified within the linger share one read and one produce', async () => {
    // A long linger, so a slow (shared, busy) machine still notifies all three well inside it.
    const { p, reads, publishes } = pipeline({ lingerMs: 1_000, batchSize: 500 });
    p.start();
    const t0 = performance.now();
    for (const k of ['a', 'b', 'c']) {
      p.notify('set', Buffer.from(k));
      await sleep(2);
    }
    for (let i = 0; i < 300 && publishes.length === 0; i++) await sleep(10);
    expect(reads).toEqual([3]);
    expect(publishes.map((x) => x.keys)).toEqual([['a', 'b', 'c']]);
    expect(publishes[0]!.at - t0).toBeGreaterThanOrEqual(990); // waited out the oldest key's linger
    await p.stop();
  });

  it('without a linger, the first key goes out alone', async () => {
    const { p, reads } = pipeline({ lingerMs: 0, batchSize: 500 });
    p.start();
    p.notify('set', Buffer.from('a'));
    await sleep(5);
    p.notify('set', Buffer.from('b'));
    await sleep(5);
    expect(reads).toEqual([1, 1]);
    await p.stop();
  });

  it('a full batch ends the linger at once', async () => {
    const { p, publishes } = pipeline({ lingerMs: 10_000, batchSize: 3 });
    p.start();
    for (const k of ['a', 'b', 'c', 'd']) p.notify('set', Buffer.from(k));
    await sleep(20);
    expect(publishes.map((x) => x.keys)).toEqual([['a', 'b', 'c']]); // 'd' lingers on, alone
    await p.stop();
  });

  it('stop() ends the linger and drains what is pending', async () => {
    const { p, publishes } = pipeline({ lingerMs: 10_000, batchSize: 500 });
    p.start();
    p.notify('set', Buffer.from('a'));
    await sleep(5);
    expect(publishes).toEqual([]);
    const t0 = performance.now();
    await p.stop();
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(publishes.map((x) => x.keys)).toEqual([['a']]);
  });

  it('counts as pending every key not yet produced: waiting, or in the batch Kafka has not acknowledged', async () => {
    let release = () => {};
    const publishGate = new Promise<void>((resolve) => (release = resolve));
    const { p, reads, publishes, metrics } = pipeline({ lingerMs: 10_000, batchSize: 2, publishGate });
    metrics.sample(metrics.capturePendingKeys, () => p.pendingCount);
    const gauge = async () => (await metrics.capturePendingKeys.get()).values[0]?.value;
    p.start();
    for (const k of ['a', 'b', 'c']) p.notify('set', Buffer.from(k));
    for (let i = 0; i < 300 && reads.length === 0; i++) await sleep(10);
    await sleep(5);
    expect(publishes).toEqual([]); // a and b are read and wait for Kafka, c lingers
    expect(p.pendingCount).toBe(3);
    expect(await gauge()).toBe(3);
    release();
    for (let i = 0; i < 300 && publishes.length === 0; i++) await sleep(10);
    expect(publishes.map((x) => x.keys)).toEqual([['a', 'b']]);
    await sleep(5); // the loop counts the batch as produced once publish() resolved
    expect(await gauge()).toBe(1);
    await p.stop();
    expect(await gauge()).toBe(0);
  });
});

describe('CapturePipeline.recapture', () => {
  it('says per key: produced, deleted (gone from Redis) or refused with the DLQ code', async () => {
    const states: Record<string, Partial<KeyState>> = {
      ok: { type: 'string', value: { type: 'string', data: Buffer.from('v') } },
      gone: { type: 'none', value: null },
      log: { type: 'stream', value: null },
    };
    let version = 10n;
    const reader = {
      read: (keys: readonly Buffer[]): Promise<KeyState[]> =>
        Promise.resolve(
          keys.map((key) => ({
            key,
            version: ++version,
            expireAtMs: null,
            readAtMs: Date.now(),
            ...(states[key.toString()] as Pick<KeyState, 'type' | 'value'>),
          })),
        ),
    } as unknown as VersionedReader;
    const dlq: Message[] = [];
    const p = new CapturePipeline(
      reader,
      { publish: () => Promise.resolve() } as never,
      { publish: (m: Message[]) => (dlq.push(...m), Promise.resolve()) } as never,
      { sourceId: 's', db: 0, batchSize: 10, lingerMs: 0, maxEventBytes: 1 << 20 },
      new Metrics(),
      createLogger('silent'),
    );
    const { outcomes } = await p.recapture(
      ['ok', 'gone', 'log'].map((k) => Buffer.from(k)),
      'repair',
      'redrive',
    );
    expect(outcomes.map((o) => [o.key.toString(), o.outcome, o.version, o.code])).toEqual([
      ['ok', 'produced', 11n, undefined],
      ['gone', 'deleted', 12n, undefined],
      ['log', 'refused', 13n, 'UNSUPPORTED_TYPE'],
    ]);
    expect(dlq.map((m) => String(m.key))).toEqual(['log']);
  });
});
