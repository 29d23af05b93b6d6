import { describe, expect, it } from 'vitest';
import { confirmVerdict, graceSleep } from './recheck';

describe('confirmVerdict', () => {
  it('a key that matches on recheck is a match', () => {
    expect(confirmVerdict(5n, 'match', 5n)).toBe('match');
    expect(confirmVerdict(null, 'match', 7n)).toBe('match');
  });

  it('an item whose version moved on was in flight', () => {
    expect(confirmVerdict(5n, 'value', 6n)).toBe('in-flight');
    expect(confirmVerdict(null, 'missing', 6n)).toBe('in-flight'); // no item at first look, one now
    expect(confirmVerdict(5n, 'extra', null)).toBe('in-flight'); // item gone (DynamoDB TTL deletion)
  });

  it('a mismatch on the same item version is confirmed as its class now', () => {
    expect(confirmVerdict(5n, 'value', 5n)).toBe('value');
    expect(confirmVerdict(null, 'missing', null)).toBe('missing');
    expect(confirmVerdict(null, 'foreign', null)).toBe('foreign');
    expect(confirmVerdict(5n, 'ttl', 5n)).toBe('ttl');
  });
});

describe('graceSleep', () => {
  it('ends early with false on abort', async () => {
    const ac = new AbortController();
    const slept = graceSleep(60_000, ac.signal);
    ac.abort();
    expect(await slept).toBe(false);
    expect(await graceSleep(1)).toBe(true);
  });
});
