import { describe, expect, it } from 'vitest';
import type { Admin } from 'kafkajs';
import { ConsumerLagWatch, groupLag, lagAfterCommit } from './consumer-lag';

describe('lagAfterCommit', () => {
  it('is the end offset the fetch saw minus the next offset to read', () => {
    expect(lagAfterCommit('120', '100')).toBe(20);
    expect(lagAfterCommit('100', '100')).toBe(0);
  });

  it('is never negative (a commit past the end seen by an older fetch)', () => {
    expect(lagAfterCommit('90', '100')).toBe(0);
  });

  it('holds offsets past 2^53 exactly until the difference itself is small', () => {
    expect(lagAfterCommit('9007199254740995', '9007199254740990')).toBe(5);
  });
});

describe('groupLag', () => {
  const watermarks = [
    { partition: 1, high: '50', low: '10' },
    { partition: 0, high: '30', low: '0' },
    { partition: 2, high: '7', low: '7' },
  ];

  it('is end minus committed per partition, in partition order', () => {
    expect(
      groupLag(watermarks, [
        { partition: 0, offset: '30' },
        { partition: 1, offset: '45' },
        { partition: 2, offset: '7' },
      ]),
    ).toEqual([
      { partition: 0, end: '30', committed: '30', lag: 0 },
      { partition: 1, end: '50', committed: '45', lag: 5 },
      { partition: 2, end: '7', committed: '7', lag: 0 },
    ]);
  });

  it('counts everything a partition still holds where the group never committed (-1 or absent)', () => {
    expect(groupLag(watermarks, [{ partition: 0, offset: '-1' }])).toEqual([
      { partition: 0, end: '30', committed: null, lag: 30 },
      { partition: 1, end: '50', committed: null, lag: 40 },
      { partition: 2, end: '7', committed: null, lag: 0 },
    ]);
  });
});

/** ConsumerLagWatch's bookkeeping with an in-memory admin (the real Kafka run: test/integration/consumer-lag.int-spec.ts). */
describe('ConsumerLagWatch', () => {
  function watch() {
    const values = new Map<string, number>();
    const errors: string[] = [];
    let release = () => {};
    const state = {
      high: '10',
      committed: '4',
      fail: false,
      hold: undefined as Promise<void> | undefined,
    };
    const admin = {
      connect: () => Promise.resolve(),
      disconnect: () => Promise.resolve(),
      fetchTopicOffsets: async () => {
        if (state.fail) throw new Error('broker down');
        const high = state.high;
        await state.hold;
        return [{ partition: 0, high, low: '0', offset: high }];
      },
      fetchOffsets: () =>
        Promise.resolve([{ topic: 't', partitions: [{ partition: 0, offset: state.committed }] }]),
    };
    const w = new ConsumerLagWatch(admin as unknown as Admin, {
      group: 'g',
      topic: 't',
      gauge: { set: (l, v) => values.set(`${l.topic}:${l.partition}`, v) },
      onError: (err) => errors.push(err.message),
    });
    const holdNext = () => {
      state.hold = new Promise((resolve) => (release = resolve));
    };
    return { w, values, errors, state, holdNext, release: () => release() };
  }

  it('sets each partition from a refresh and from each commit', async () => {
    const { w, values } = watch();
    await w.refresh();
    expect(values.get('t:0')).toBe(6);
    w.committed({ topic: 't', partition: 0, offset: '10', highWatermark: '10' });
    expect(values.get('t:0')).toBe(0);
    w.committed({ topic: 'other', partition: 0, offset: '1', highWatermark: '99' });
    expect(values.get('t:0')).toBe(0);
  });

  it('a refresh that started before a commit does not overwrite it with older offsets', async () => {
    const { w, values, holdNext, release } = watch();
    holdNext();
    const refresh = w.refresh();
    await new Promise((r) => setTimeout(r, 5));
    w.committed({ topic: 't', partition: 0, offset: '10', highWatermark: '10' });
    release();
    await refresh;
    expect(values.get('t:0')).toBe(0);
  });

  it('reports a failing refresh once until one succeeds, and keeps the last values meanwhile', async () => {
    const { w, values, errors, state } = watch();
    await w.refresh();
    state.fail = true;
    await w.refresh();
    await w.refresh();
    expect(errors).toEqual(['broker down']);
    expect(values.get('t:0')).toBe(6);
    state.fail = false;
    state.committed = '10';
    await w.refresh();
    expect(values.get('t:0')).toBe(0);
    state.fail = true;
    await w.refresh();
    expect(errors).toEqual(['broker down', 'broker down']);
  });

  it('stop() does not wait for a disconnect that hangs (Kafka gone) past its bound', async () => {
    const admin = { disconnect: () => new Promise<void>(() => {}) };
    const w = new ConsumerLagWatch(admin as unknown as Admin, {
      group: 'g',
      topic: 't',
      gauge: { set: () => {} },
    });
    const t0 = Date.now();
    await w.stop(50);
    expect(Date.now() - t0).toBeLessThan(5_000);
  });

  it('after stop() nothing is set, not even by a refresh that was in flight', async () => {
    const { w, values, holdNext, release } = watch();
    holdNext();
    const refresh = w.refresh();
    await w.stop();
    release();
    await refresh;
    w.committed({ topic: 't', partition: 0, offset: '10', highWatermark: '10' });
    expect(values.size).toBe(0);
  });

  it('a stop() during the first connect still closes the connection that connect opens', async () => {
    let connected = false;
    let finishConnect = () => {};
    const admin = {
      connect: () =>
        new Promise<void>((resolve) => {
          finishConnect = () => {
            connected = true;
            resolve();
          };
        }),
      disconnect: () => {
        connected = false;
        return Promise.resolve();
      },
    };
    const w = new ConsumerLagWatch(admin as unknown as Admin, {
      group: 'g',
      topic: 't',
      gauge: { set: () => {} },
    });
    const refresh = w.refresh();
    await w.stop(50);
    finishConnect();
    await refresh;
    expect(connected).toBe(false);
  });
});
