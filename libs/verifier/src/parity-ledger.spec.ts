import { describe, expect, it } from 'vitest';
import { ParityLedger } from './parity-ledger';

describe('ParityLedger', () => {
  it('keeps the newest verdict per key and summarises over decided keys', () => {
    const l = new ParityLedger();
    l.record(Buffer.from('a'), 'value', 2n);
    l.record(Buffer.from('a'), 'match', 3n);
    l.record(Buffer.from('a'), 'missing', 1n); // older record's late recheck: ignored
    l.record(Buffer.from('b'), 'match', 1n);
    l.record(Buffer.from('c'), 'in-flight', 1n);
    l.record(Buffer.from('d'), 'extra', 1n);
    l.record(Buffer.from('e'), 'not-carried', 1n); // a stream: out of scope, not a mismatch
    expect(l.get(Buffer.from('a'))?.verdict).toBe('match');
    expect(l.summary()).toEqual({
      keys: 5,
      matching: 2,
      mismatches: 1,
      parity: 2 / 3,
      byVerdict: { match: 2, 'in-flight': 1, extra: 1, 'not-carried': 1 },
    });
  });

  it('counts as mismatches only confirmed ones: not in-flight, not-carried nor stuck keys (the cdc run line)', () => {
    const l = new ParityLedger();
    l.record(Buffer.from('a'), 'match', 1n);
    l.record(Buffer.from('b'), 'in-flight', 1n);
    l.record(Buffer.from('c'), 'not-carried', 1n);
    l.record(Buffer.from('d'), 'stuck', 1n);
    l.record(Buffer.from('e'), 'stuck', 1n);
    expect(l.summary()).toMatchObject({ keys: 5, matching: 1, mismatches: 0 });
    l.record(Buffer.from('f'), 'value', 1n);
    l.record(Buffer.from('g'), 'foreign', 1n);
    expect(l.summary().mismatches).toBe(2);
  });
});
