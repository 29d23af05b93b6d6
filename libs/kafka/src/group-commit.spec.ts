import { describe, expect, it } from 'vitest';
import { GroupCommit, type PartitionOffset } from './group-commit';

/** A send whose calls are recorded and settled by the test. */
function controlledSend() {
  const calls: Array<{ offsets: PartitionOffset[]; ok(): void; fail(err: Error): void }> = [];
  const send = (offsets: PartitionOffset[]) =>
    new Promise<void>((ok, fail) => calls.push({ offsets, ok: () => ok(), fail }));
  return { calls, send };
}

const tick = () => new Promise((r) => setImmediate(r));
const at = (partition: number, offset: number): PartitionOffset => ({
  topic: 't',
  partition,
  offset: String(offset),
});

describe('GroupCommit', () => {
  it('sends the first offset at once, alone', async () => {
    const { calls, send } = controlledSend();
    const gc = new GroupCommit(send);
    const done = gc.commit(at(0, 5));
    expect(calls.map((c) => c.offsets)).toEqual([[at(0, 5)]]);
    calls[0]?.ok();
    await expect(done).resolves.toBeUndefined();
  });

  it('merges everything that arrives during a commit into the next one, highest offset per partition', async () => {
    const { calls, send } = controlledSend();
    const gc = new GroupCommit(send);
    const first = gc.commit(at(0, 5));
    const settled: string[] = [];
    const later = [gc.commit(at(1, 7)), gc.commit(at(2, 3)), gc.commit(at(1, 9))].map((p, i) =>
      p.then(() => settled.push(`later${i}`)),
    );
    expect(calls).toHaveLength(1); // nothing else goes out while the first is in flight
    calls[0]?.ok();
    await first;
    await tick();
    expect(settled).toEqual([]); // not committed yet: their offsets are only in the second request
    expect(calls.map((c) => c.offsets)).toEqual([[at(0, 5)], [at(1, 9), at(2, 3)]]);
    calls[1]?.ok();
    await Promise.all(later);
    expect(settled.sort()).toEqual(['later0', 'later1', 'later2']);
  });

  it('never lowers a pending offset', async () => {
    const { calls, send } = controlledSend();
    const gc = new GroupCommit(send);
    void gc.commit(at(0, 1));
    void gc.commit(at(4, 10));
    void gc.commit(at(4, 8));
    calls[0]?.ok();
    await tick();
    expect(calls[1]?.offsets).toEqual([at(4, 10)]);
  });

  it('rejects exactly the callers whose commit failed, and carries on with the next', async () => {
    const { calls, send } = controlledSend();
    const gc = new GroupCommit(send);
    const first = gc.commit(at(0, 5));
    const second = gc.commit(at(1, 2));
    calls[0]?.fail(new Error('REBALANCE_IN_PROGRESS'));
    await expect(first).rejects.toThrow('REBALANCE_IN_PROGRESS');
    await tick();
    expect(calls[1]?.offsets).toEqual([at(1, 2)]);
    calls[1]?.ok();
    await expect(second).resolves.toBeUndefined();
  });
});
