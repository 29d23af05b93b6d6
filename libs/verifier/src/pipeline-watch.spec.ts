import type { Admin } from '@cdc/kafka';
import type { ControlClient } from '@cdc/redis';
import { describe, expect, it } from 'vitest';
import { PipelineWatch } from './pipeline-watch';

const names = { topic: 't', applierGroup: 'g', sourceId: 's' };

/** Counts the engine reads one progress() makes: fetchOffsets on Kafka, GET + HGETALL on Redis. */
function fakes(opts: { fail?: boolean; gate?: Promise<void> } = {}) {
  const reads = { fetchOffsets: 0, get: 0, hgetall: 0, fetchTopicOffsets: 0 };
  const admin = {
    fetchOffsets: async () => {
      reads.fetchOffsets++;
      await opts.gate;
      if (opts.fail) throw new Error('Connection error: connect ECONNREFUSED 127.0.0.1:1');
      return [{ topic: 't', partitions: [{ partition: 0, offset: '42' }] }];
    },
    fetchTopicOffsets: () => {
      reads.fetchTopicOffsets++;
      return Promise.resolve([{ partition: 0, high: '50', low: '0', offset: '50' }]);
    },
  } as unknown as Admin;
  const control = {
    get: () => {
      reads.get++;
      return Promise.resolve(String(1_000));
    },
    hgetall: () => {
      reads.hgetall++;
      return Promise.resolve({ since: '1', gaps: '0' });
    },
  } as unknown as ControlClient;
  return { admin, control, reads };
}

describe('PipelineWatch.progress', () => {
  it('concurrent callers (hundreds of recheck loops) share one read of Kafka and Redis', async () => {
    const { admin, control, reads } = fakes();
    const watch = new PipelineWatch(admin, control, names);
    const all = await Promise.all(Array.from({ length: 300 }, () => watch.progress()));
    expect(reads).toMatchObject({ fetchOffsets: 1, get: 1, hgetall: 1 });
    for (const p of all) expect(p).toMatchObject({ committed: new Map([[0, 42n]]), captureAliveAt: 1_000 });
  });

  it('reuses a result for progressMaxAgeMs, then reads again', async () => {
    const { admin, control, reads } = fakes();
    let now = 10_000;
    const watch = new PipelineWatch(admin, control, names, { progressMaxAgeMs: 500, now: () => now });
    await watch.progress();
    now += 499;
    await watch.progress();
    expect(reads.fetchOffsets).toBe(1);
    now += 1;
    await watch.progress();
    expect(reads.fetchOffsets).toBe(2);
  });

  it('callers while a slow read runs (Kafka retrying) join it instead of starting more', async () => {
    let open: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (open = resolve));
    const { admin, control, reads } = fakes({ gate });
    let now = 0;
    const watch = new PipelineWatch(admin, control, names, { progressMaxAgeMs: 500, now: () => now });
    const first = watch.progress();
    now += 30_000; // long past the age: the read is still running
    const second = watch.progress();
    open();
    await Promise.all([first, second]);
    expect(reads.fetchOffsets).toBe(1);
  });

  it('a failed read is unknown, remembered as lastUnknown, and shared too', async () => {
    const { admin, control, reads } = fakes({ fail: true });
    const watch = new PipelineWatch(admin, control, names);
    expect(watch.lastUnknown).toBeNull();
    const [a, b] = await Promise.all([watch.progress(), watch.progress()]);
    expect(a).toEqual({ unknown: expect.stringContaining('ECONNREFUSED') as unknown });
    expect(b).toBe(a);
    expect(reads.fetchOffsets).toBe(1);
    expect(watch.lastUnknown).toContain('is Kafka reachable?');
  });

  it('before the admin connected, progress and marks are unknown at once, without touching the engines', async () => {
    const { admin, control, reads } = fakes();
    let connected = false;
    const watch = new PipelineWatch(admin, control, names, {
      connected: () => connected,
      progressMaxAgeMs: 0,
    });
    expect(await watch.progress()).toEqual({ unknown: expect.stringContaining('not connected') as unknown });
    expect(await watch.mark([Buffer.from('k')])).toEqual({
      unknown: expect.stringContaining('not connected') as unknown,
    });
    expect(reads).toEqual({ fetchOffsets: 0, get: 0, hgetall: 0, fetchTopicOffsets: 0 });
    connected = true;
    expect(await watch.progress()).toMatchObject({ committed: new Map([[0, 42n]]) });
    expect(await watch.mark([Buffer.from('k')])).toEqual([
      { partition: 0, end: 50n, at: expect.any(Number) as unknown },
    ]);
  });
});
