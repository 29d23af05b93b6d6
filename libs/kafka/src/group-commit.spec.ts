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
    await tick();
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
    await tick();
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
    await tick();
    calls[0]?.ok();
    await tick();
    expect(calls[1]?.offsets).toEqual([at(4, 10)]);
  });

  it('rejects exactly the callers whose commit failed, and carries on with the next', async () => {
    const { calls, send } = controlledSend();
    const gc = new GroupCommit(send);
    const first = gc.commit(at(0, 5));
    const second = gc.commit(at(1, 2));
    await tick();
    calls[0]?.fail(new Error('REBALANCE_IN_PROGRESS'));
    await expect(first).rejects.toThrow('REBALANCE_IN_PROGRESS');
    await tick();
    expect(calls[1]?.offsets).toEqual([at(1, 2)]);
    calls[1]?.ok();
    await expect(second).resolves.toBeUndefined();
  });

  it('leaves out a partition revoked before its commit went out, and still resolves its caller', async () => {
    const { calls, send } = controlledSend();
    const gc = new GroupCommit(send);
    let owned = true;
    const first = gc.commit(at(0, 5));
    const revoked = gc.commit(at(1, 7), () => owned);
    const kept = gc.commit(at(2, 3));
    owned = false; // a rebalance while the first commit is in flight
    await tick();
    calls[0]?.ok();
    await first;
    await tick();
    expect(calls[1]?.offsets).toEqual([at(2, 3)]);
    calls[1]?.ok();
    await expect(Promise.all([revoked, kept])).resolves.toBeDefined();
  });

  it('a send that throws synchronously rejects its callers and does not wedge later commits', async () => {
    let n = 0;
    const gc = new GroupCommit(() => {
      if (n++ === 0) throw new Error('boom');
      return Promise.resolve();
    });
    await expect(gc.commit(at(0, 1))).rejects.toThrow('boom');
    await expect(gc.commit(at(0, 2))).resolves.toBeUndefined();
  });
});
