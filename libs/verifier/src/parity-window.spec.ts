import { describe, expect, it } from 'vitest';
import { ParityWindow, quantile } from './parity-window';

describe('ParityWindow', () => {
  it('counts classes over the window only, and forgets what fell out of it', () => {
    const w = new ParityWindow(10_000);
    const t0 = 1_000_000;
    w.add('match', t0);
    w.add('value', t0 + 1_000);
    w.add('match', t0 + 5_000);
    w.add('in-flight', t0 + 9_000);
    expect(w.snapshot(t0 + 9_500)).toMatchObject({
      at: t0 + 9_500,
      windowMs: 10_000,
      classes: { match: 2, value: 1, 'in-flight': 1 },
    });
    // 12 s later the first two seconds have left the window.
    expect(w.snapshot(t0 + 12_000).classes).toEqual({ match: 1, 'in-flight': 1 });
    expect(w.snapshot(t0 + 60_000).classes).toEqual({});
  });

  it('reports lag quantiles over the window, null when there is no sample', () => {
    const w = new ParityWindow(60_000);
    expect(w.snapshot(0)).toMatchObject({ lagP50Ms: null, lagP99Ms: null });
    for (let i = 1; i <= 100; i++) w.lag(i, 1_000 + i * 10);
    expect(w.snapshot(5_000)).toMatchObject({ lagP50Ms: 50, lagP99Ms: 99 });
  });

  it('keeps memory bounded under a high rate, still sampling the whole second', () => {
    let r = 0;
    const w = new ParityWindow(60_000, () => (r = (r * 9301 + 49297) % 233280) / 233280);
    for (let i = 0; i < 10_000; i++) w.lag(i < 5_000 ? 10 : 1_000, 1_000);
    const { lagP50Ms, lagP99Ms } = w.snapshot(1_500);
    expect(lagP99Ms).toBe(1_000); // the late half of the second was sampled, not only the first 256
    expect(lagP50Ms === 10 || lagP50Ms === 1_000).toBe(true);
  });
});

describe('quantile', () => {
  it('is the nearest rank', () => {
    expect(quantile([], 0.5)).toBeNull();
    expect(quantile([7], 0.99)).toBe(7);
    expect(quantile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(quantile([1, 2, 3, 4], 1)).toBe(4);
  });
});

describe('ParityWindow.classes', () => {
  it('counts what snapshot() counts, over the same window', () => {
    const w = new ParityWindow(10_000);
    const t0 = 1_000_000;
    for (const [verdict, at] of [
      ['match', t0],
      ['value', t0 + 1_000],
      ['match', t0 + 5_000],
      ['in-flight', t0 + 9_000],
    ] as const)
      w.add(verdict, at);
    expect(w.classes(t0 + 9_500)).toEqual({ match: 2, value: 1, 'in-flight': 1 });
    expect(w.classes(t0 + 12_000)).toEqual(w.snapshot(t0 + 12_000).classes);
    expect(w.classes(t0 + 60_000)).toEqual({});
  });
});
