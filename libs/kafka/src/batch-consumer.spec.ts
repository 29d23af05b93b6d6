import { describe, expect, it } from 'vitest';
import { pauseDelayMs } from './batch-consumer';

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
