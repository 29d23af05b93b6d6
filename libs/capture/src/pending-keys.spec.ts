import { describe, expect, it } from 'vitest';
import { PendingKeys } from './pending-keys';

describe('PendingKeys', () => {
  it('coalesces a burst on one key into one pending read with the latest event', () => {
    const p = new PendingKeys();
    expect(p.add(Buffer.from('a'), 'set', 1)).toBe(true);
    expect(p.add(Buffer.from('a'), 'append', 2)).toBe(false);
    expect(p.add(Buffer.from('b'), 'hset', 3)).toBe(true);
    expect(p.size).toBe(2);
    const taken = p.take(10);
    expect(taken.map((t) => [t.key.toString(), t.event, t.since])).toEqual([
      ['a', 'append', 1],
      ['b', 'hset', 3],
    ]);
    expect(p.size).toBe(0);
  });

  it('takes at most max, oldest first, and restores failed keys without clobbering newer ones', () => {
    const p = new PendingKeys();
    for (const k of ['a', 'b', 'c']) p.add(Buffer.from(k), 'set', 0);
    const first = p.take(2);
    expect(first.map((t) => t.key.toString())).toEqual(['a', 'b']);
    p.add(Buffer.from('a'), 'del', 5);
    p.restore(first);
    const rest = p.take(10);
    expect(rest.map((t) => [t.key.toString(), t.event])).toEqual([
      ['c', 'set'],
      ['a', 'del'],
      ['b', 'set'],
    ]);
  });

  it('treats binary keys by their exact bytes', () => {
    const p = new PendingKeys();
    p.add(Buffer.from([0xff, 0x00]), 'set', 0);
    p.add(Buffer.from([0xff, 0x01]), 'set', 0);
    expect(p.size).toBe(2);
  });

  it('knows when its oldest waiting key was notified', () => {
    const p = new PendingKeys();
    expect(p.oldestSince()).toBeUndefined();
    p.add(Buffer.from('a'), 'set', 5);
    p.add(Buffer.from('b'), 'set', 9);
    p.add(Buffer.from('a'), 'incr', 12); // coalesced: the burst started at 5
    expect(p.oldestSince()).toBe(5);
    p.take(1);
    expect(p.oldestSince()).toBe(9);
  });
});
