import { describe, expect, it } from 'vitest';
import {
  checkFinalState,
  drainRate,
  lagFigures,
  outcomesDelta,
  outcomesFrom,
  pairRatios,
  quantilesOf,
  writesPerEvent,
} from './applier-figures';

describe('drainRate', () => {
  it('counts from the first commit to the last, leaving the first batch out', () => {
    const r = drainRate([
      { atMs: 1_000, committed: 3_000 },
      { atMs: 2_000, committed: 6_000 },
      { atMs: 4_000, committed: 12_000 },
    ]);
    expect(r).toEqual({ windowEvents: 9_000, windowMs: 3_000, eventsPerS: 3_000, commits: 3 });
  });

  it('has no rate with fewer than two commits', () => {
    expect(drainRate([{ atMs: 5, committed: 100 }]).eventsPerS).toBeNaN();
    expect(drainRate([]).commits).toBe(0);
  });
});

describe('outcomes', () => {
  it('reads the labels it knows, defaults the rest to 0, and subtracts readings', () => {
    const after = outcomesFrom({ applied: 10, stale: 2, coalesced: 30, kafka_tombstone: 1 });
    expect(after).toEqual({ applied: 10, stale: 2, duplicate: 0, coalesced: 30 });
    expect(outcomesDelta(after, outcomesFrom({ applied: 4 }))).toEqual({
      applied: 6,
      stale: 2,
      duplicate: 0,
      coalesced: 30,
    });
  });

  it('counts applied, stale and duplicate as DynamoDB writes, not coalesced events', () => {
    expect(writesPerEvent({ applied: 20, stale: 3, duplicate: 2, coalesced: 75 }, 100)).toBe(0.25);
    expect(writesPerEvent({ applied: 0, stale: 0, duplicate: 0, coalesced: 0 }, 0)).toBeNaN();
  });
});

describe('pairRatios', () => {
  it('divides within each pair and takes the median', () => {
    const r = pairRatios([
      { a: 900, b: 1_000 },
      { a: 700, b: 1_000 },
    ]);
    expect(r.ratios).toEqual([0.9, 0.7]);
    expect(r.median).toBeCloseTo(0.8);
    expect(pairRatios([{ a: 1, b: 0 }]).median).toBeNaN();
  });
});

describe('quantilesOf', () => {
  it('takes nearest-rank p50, p99 and the max, and nothing for no values', () => {
    const values = Array.from({ length: 100 }, (_, i) => i + 1);
    expect(quantilesOf(values)).toEqual({ count: 100, p50Ms: 50, p99Ms: 99, maxMs: 100 });
    expect(quantilesOf([])).toEqual({ count: 0 });
  });
});

const item = (pk: string, ver: string, val: string, capturedAt?: number, appliedAt?: number) => ({
  pk: { S: pk },
  ver: { N: ver },
  val: { S: val },
  ...(capturedAt !== undefined ? { capturedAt: { N: String(capturedAt) } } : {}),
  ...(appliedAt !== undefined ? { appliedAt: { N: String(appliedAt) } } : {}),
});

describe('lagFigures', () => {
  it('splits write → applied into write → captured and captured → applied', () => {
    const f = lagFigures([
      item('a', '1', '1000.500:0:xx', 1_002, 1_010),
      item('b', '2', '2000.000:1:xx', 2_001, 2_004),
      item('c', '3', 'no time', 3_000, 3_001),
    ]);
    expect(f.skipped).toBe(1);
    expect(f.endToEnd).toMatchObject({ count: 2, p50Ms: 4, maxMs: 9.5 });
    expect(f.capture).toMatchObject({ p50Ms: 1, maxMs: 1.5 });
    expect(f.apply).toMatchObject({ p50Ms: 3, maxMs: 8 });
  });
});

describe('checkFinalState', () => {
  const expected = new Map<string, readonly [string, string]>([
    ['k1', ['5', 'v5']],
    ['k2', ['7', 'v7']],
  ]);

  it('passes when every key holds its last version and value, and nothing else is there', () => {
    const r = checkFinalState(expected, [item('k1', '5', 'v5'), item('k2', '7', 'v7')]);
    expect(r).toMatchObject({ keysExpected: 2, itemsFound: 2, wrong: 0, extra: 0, sample: [] });
  });

  it('reports an older version, a missing key and an extra item', () => {
    const r = checkFinalState(expected, [item('k1', '4', 'v4'), item('k9', '1', 'x')]);
    expect(r.wrong).toBe(2);
    expect(r.extra).toBe(1);
    expect(r.sample).toEqual([
      { pk: 'k1', expected: '5 v5', found: '4 v4' },
      { pk: 'k2', expected: '7 v7', found: null },
    ]);
  });
});
