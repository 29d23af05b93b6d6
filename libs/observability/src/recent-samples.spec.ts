import { describe, expect, it } from 'vitest';
import { RecentSamples } from './recent-samples';

describe('RecentSamples', () => {
  it('computes quantiles over the last N samples only', () => {
    const s = new RecentSamples(4);
    expect(s.quantile(0.5)).toBeUndefined();
    for (const v of [100, 100, 100, 100, 1, 2, 3, 4]) s.add(v);
    expect(s.quantile(0)).toBe(1);
    expect(s.quantile(0.5)).toBe(3);
    expect(s.quantile(0.99)).toBe(4);
  });
});
