import { describe, expect, it } from 'vitest';
import { medianFigures, roundFigures, verdictLags } from './verify-figures';

const times = {
  round: 1,
  items: 10_000,
  rawScanMs: 2_000,
  keys: 10_000,
  rawRedisMs: 1_000,
  rawBothMs: 2_500,
  verifyItems: 10_000,
  verifyKeys: 10_000,
  verifyMs: 5_000,
  mismatches: 0,
};

describe('roundFigures', () => {
  it('turns wall times into rates and the verifier into ratios against each floor', () => {
    const f = roundFigures(times);
    expect(f.rawScanPerS).toBe(5_000);
    expect(f.rawRedisPerS).toBe(10_000);
    expect(f.floorPerS).toBe(4_000);
    expect(f.serialFloorPerS).toBeCloseTo(3_333.33, 1);
    expect(f.verifyPerS).toBe(2_000);
    expect(f.verifyVsScan).toBeCloseTo(0.4);
    expect(f.verifyVsFloor).toBeCloseTo(0.5);
    expect(f.verifyVsSerialFloor).toBeCloseTo(0.6);
  });

  it('gives NaN, not Infinity, when a raw pass read nothing', () => {
    const f = roundFigures({ ...times, items: 0, rawScanMs: 0 });
    expect(f.verifyVsScan).toBeNaN();
  });
});

describe('medianFigures', () => {
  it('takes the median of the per-round ratios, not the ratio of the median rates', () => {
    // Round 2 ran on a box twice as slow: within-round ratios agree, cross-round rates do not.
    const a = roundFigures(times);
    const b = roundFigures({ ...times, round: 2, rawScanMs: 4_000, rawBothMs: 5_000, verifyMs: 10_000 });
    const c = roundFigures({ ...times, round: 3, rawScanMs: 1_000, rawBothMs: 1_250, verifyMs: 4_000 });
    const m = medianFigures([a, b, c]);
    expect(m.verifyVsScan).toBeCloseTo(0.4);
    expect(m.verifyVsFloor).toBeCloseTo(0.5);
    expect(m.verifyPerS).toBe(2_000);
    expect(m.rawScanPerS).toBe(5_000);
  });
});

describe('verdictLags', () => {
  it('measures write to verdict per record and counts records the verifier never answered', () => {
    const { lagsMs, unanswered } = verdictLags([
      { appliedAt: 1_000, verdictAt: 1_300 },
      { appliedAt: 2_000, verdictAt: undefined },
      { appliedAt: 3_000, verdictAt: 2_999 }, // clocks of one process: a verdict cannot precede its write
    ]);
    expect(lagsMs).toEqual([300, 0]);
    expect(unanswered).toBe(1);
  });
});
