import type { Consumer, EachBatchPayload } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { BatchConsumer, type ConsumerStop, pauseDelayMs } from './batch-consumer';

describe('pauseDelayMs', () => {
  it('doubles from the base on each consecutive failure', () => {
    expect([1, 2, 3, 4].map((a) => pauseDelayMs(a))).toEqual([1_000, 2_000, 4_000, 8_000]);
  });

  it('is capped, even for absurd attempt counts', () => {
    expect(pauseDelayMs(6)).toBe(30_000);
    expect(pauseDelayMs(10_000)).toBe(30_000);
    expect(pauseDelayMs(3, 100, 250)).toBe(250);
  });

  it('treats a zero or negative attempt as the first', () => {
    expect(pauseDelayMs(0)).toBe(1_000);
    expect(pauseDelayMs(-5)).toBe(1_000);
  });
});

/** A kafkajs consumer reduced to what BatchConsumer calls: run() hands over eachBatch, the rest is recorded. */
function fakeConsumer() {
  const calls = { paused: [] as unknown[], commits: [] as unknown[], resumed: [] as number[] };
  let eachBatch: ((payload: EachBatchPayload) => Promise<void>) | undefined;
  const consumer = {
    events: { GROUP_JOIN: 'join', CRASH: 'crash', STOP: 'stop' },
    on: (event: string, listener: () => void) => (event === 'join' ? listener() : undefined),
    connect: () => Promise.resolve(),
    subscribe: () => Promise.resolve(),
    run: (opts: { eachBatch: typeof eachBatch }) => {
      eachBatch = opts.eachBatch;
      return Promise.resolve();
    },
    pause: (topics: unknown) => calls.paused.push(topics),
    commitOffsets: (offsets: unknown) => {
      calls.commits.push(offsets);
      return Promise.resolve();
    },
    disconnect: () => Promise.resolve(),
  };
  const deliver = async (partition: number, offsets: string[]) => {
    const resolved: string[] = [];
    let partitionPaused = false;
    await eachBatch?.({
      batch: {
        topic: 't',
        partition,
        messages: offsets.map((offset) => ({ offset, key: null, value: null, headers: {}, timestamp: '0' })),
        lastOffset: () => offsets[offsets.length - 1],
      },
      heartbeat: () => Promise.resolve(),
      isRunning: () => true,
      isStale: () => false,
      pause: () => {
        partitionPaused = true;
        return () => calls.resumed.push(partition);
      },
      resolveOffset: (o: string) => resolved.push(o),
    } as unknown as EachBatchPayload);
    return { resolved, partitionPaused };
  };
  return { consumer: consumer as unknown as Consumer, calls, deliver };
}

describe('BatchConsumer failure decisions', () => {
  it('stop: the whole topic paused, the batch neither resolved nor committed, health down, told once', async () => {
    const fake = fakeConsumer();
    const stops: ConsumerStop[] = [];
    const c = new BatchConsumer(fake.consumer, {
      decide: () => ({ action: 'stop', message: 'table gone. Fix: create it' }),
      onStop: (s) => stops.push(s),
    });
    await c.start('t', () => Promise.reject(new Error('ResourceNotFoundException')));
    expect(c.healthy).toBe(true);
    const first = await fake.deliver(0, ['10', '11']);
    expect(first).toEqual({ resolved: [], partitionPaused: true });
    expect(fake.calls.commits).toEqual([]);
    expect(fake.calls.paused).toEqual([[{ topic: 't' }]]);
    expect(c.healthy).toBe(false);
    expect(c.stopped).toMatchObject({ partition: 0, offset: '10', message: 'table gone. Fix: create it' });
    // A batch of another partition fetched before the pause took effect is left alone, uncommitted.
    const second = await fake.deliver(1, ['7']);
    expect(second.resolved).toEqual([]);
    expect(stops).toHaveLength(1);
    expect(c.paused).toEqual([]); // stopped, not waiting for a retry
  });

  it('retry: only the partition paused for the decided delay, then a success commits past it', async () => {
    const fake = fakeConsumer();
    const pauses: number[] = [];
    let fail = true;
    const c = new BatchConsumer(fake.consumer, {
      decide: (_err, attempt) => ({ action: 'retry', delayMs: 5 * attempt }),
      onPause: (p) => pauses.push(p.delayMs),
    });
    await c.start('t', () => (fail ? Promise.reject(new Error('throttled')) : Promise.resolve()));
    expect((await fake.deliver(0, ['3'])).partitionPaused).toBe(true);
    expect(c.paused).toEqual([{ partition: 't:0', error: 'throttled' }]);
    await fake.deliver(0, ['3']);
    expect(pauses).toEqual([5, 10]);
    fail = false;
    expect((await fake.deliver(0, ['3'])).resolved).toEqual(['3']);
    expect(fake.calls.commits).toHaveLength(1);
    expect(c.stopped).toBeUndefined();
    await c.stop();
  });

  it('a retry decided after another partition stopped the topic never resumes its partition', async () => {
    const fake = fakeConsumer();
    let failSlow: (err: Error) => void = () => undefined;
    const c = new BatchConsumer(fake.consumer, {
      decide: (err) =>
        err.message === 'gone' ? { action: 'stop', message: 'table gone' } : { action: 'retry', delayMs: 1 },
    });
    await c.start('t', (batch) =>
      batch.partition === 1
        ? new Promise<void>((_resolve, reject) => (failSlow = reject))
        : Promise.reject(new Error('gone')),
    );
    const slow = fake.deliver(1, ['5']); // in flight on partition 1 while partition 0 stops the topic
    await fake.deliver(0, ['9']);
    expect(c.stopped?.partition).toBe(0);
    failSlow(new Error('throttled'));
    expect((await slow).resolved).toEqual([]);
    await new Promise((r) => setTimeout(r, 20)); // past the retry delay it would have used
    expect(fake.calls.resumed).toEqual([]);
    expect(c.paused).toEqual([]);
    expect(fake.calls.commits).toEqual([]);
  });
});
