import { describe, expect, it } from 'vitest';
import {
  lastIndexByKey,
  paddedValue,
  seededRandom,
  stringSetEvent,
  ZipfSampler,
  zipfSequence,
} from './applier-workload';

describe('seededRandom', () => {
  it('repeats for a seed, differs between seeds, stays in [0, 1)', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(Array.from({ length: 1000 }, () => b())).toEqual(xs);
    expect(Array.from({ length: 1000 }, () => c())).not.toEqual(xs);
    expect(xs.every((x) => x >= 0 && x < 1)).toBe(true);
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    expect(mean).toBeGreaterThan(0.45);
    expect(mean).toBeLessThan(0.55);
  });
});

describe('ZipfSampler', () => {
  it('draws ranks in range, rank 0 the hottest, frequencies falling like 1/r^s', () => {
    const keys = 1_000;
    const s = 1.1;
    const counts = new Array<number>(keys).fill(0);
    const seq = zipfSequence(200_000, keys, s, 7);
    for (const r of seq) counts[r] = (counts[r] as number) + 1;
    expect(seq.every((r) => r < keys)).toBe(true);
    expect(counts.every((c) => c <= (counts[0] as number))).toBe(true);
    // P(0) / P(1) = 2^s ≈ 2.14 and P(0) / P(9) = 10^s ≈ 12.6, within sampling noise at 200k draws.
    expect((counts[0] as number) / (counts[1] as number)).toBeCloseTo(2 ** s, 0);
    const ratio9 = (counts[0] as number) / (counts[9] as number);
    expect(ratio9).toBeGreaterThan(11);
    expect(ratio9).toBeLessThan(14.5);
    // The exact share of rank 0: 1 / H(1000, 1.1).
    let h = 0;
    for (let r = 1; r <= keys; r++) h += 1 / r ** s;
    expect((counts[0] as number) / seq.length).toBeCloseTo(1 / h, 2);
  });

  it('is reproducible from its seed', () => {
    expect(zipfSequence(500, 100, 1.1, 1)).toEqual(zipfSequence(500, 100, 1.1, 1));
    expect(zipfSequence(500, 100, 1.1, 1)).not.toEqual(zipfSequence(500, 100, 1.1, 2));
  });

  it('covers one key, and rejects a keyspace or exponent that makes no distribution', () => {
    expect([...zipfSequence(10, 1, 1.1, 3)]).toEqual(new Array(10).fill(0));
    expect(() => new ZipfSampler(0, 1.1, Math.random)).toThrow(/keys must be ≥ 1/);
    expect(() => new ZipfSampler(10, 0, Math.random)).toThrow(/s must be > 0/);
  });
});

describe('lastIndexByKey', () => {
  it('maps every key to the index of its last occurrence', () => {
    expect(lastIndexByKey([3, 1, 3, 0, 1])).toEqual(
      new Map([
        [3, 2],
        [1, 4],
        [0, 3],
      ]),
    );
  });
});

describe('stringSetEvent and paddedValue', () => {
  it('builds a live string UPSERT with the given version', () => {
    const e = stringSetEvent('src', 'k1', 'v', 12n, 1_000);
    expect(e).toMatchObject({ sourceId: 'src', op: 'UPSERT', version: 12n, expireAt: null, origin: 'live' });
    expect(e.key.toString()).toBe('k1');
    expect(e.value).toEqual({ type: 'string', data: Buffer.from('v') });
  });

  it('pads to the size and keeps the sequence number readable', () => {
    expect(paddedValue(42, 8)).toBe('42:xxxxx');
    expect(paddedValue(123456, 3)).toBe('123456:');
  });
});
