import { describe, expect, it } from 'vitest';
import { RateLimiter } from './keyspace-scanner';

describe('RateLimiter', () => {
  it('spreads units evenly at the configured rate', () => {
    const l = new RateLimiter(100); // 100 keys/s = 10 ms per key
    expect(l.reserve(50, 0)).toBe(0); // first batch goes now, books 500 ms
    expect(l.reserve(50, 100)).toBe(400); // next one waits for the booked time
    expect(l.reserve(10, 2_000)).toBe(0); // idle time is not banked as credit
  });

  it('never waits when unlimited', () => {
    const l = new RateLimiter(0);
    expect(l.reserve(1_000_000, 0)).toBe(0);
    expect(l.reserve(1_000_000, 0)).toBe(0);
  });

  it('an abort ends a long wait', async () => {
    const l = new RateLimiter(1);
    l.reserve(100, performance.now()); // books the next 100 s
    const ac = new AbortController();
    const waiting = l.take(1, ac.signal);
    ac.abort();
    await expect(waiting).resolves.toBeUndefined();
  });
});
