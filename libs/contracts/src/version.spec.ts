import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareVersion, latestPerKey } from './version';

describe('compareVersion', () => {
  it('classifies newer, duplicate and stale', () => {
    expect(compareVersion(5n, undefined)).toBe('newer');
    expect(compareVersion(5n, 4n)).toBe('newer');
    expect(compareVersion(5n, 5n)).toBe('duplicate');
    expect(compareVersion(4n, 5n)).toBe('stale');
  });

  it('applying any sequence in any order converges to the max (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.bigInt({ min: 1n, max: 2n ** 62n }), { minLength: 1 }), (versions) => {
        let stored: bigint | undefined;
        for (const v of versions) if (compareVersion(v, stored) === 'newer') stored = v;
        expect(stored).toBe(versions.reduce((a, b) => (a > b ? a : b)));
      }),
    );
  });
});

describe('latestPerKey', () => {
  it('keeps only the highest version of each key', () => {
    const batch = [
      { k: 'a', v: 1n },
      { k: 'b', v: 9n },
      { k: 'a', v: 3n },
      { k: 'a', v: 2n },
    ];
    const out = latestPerKey(
      batch,
      (x) => x.k,
      (x) => x.v,
    );
    expect(out).toEqual([
      { k: 'a', v: 3n },
      { k: 'b', v: 9n },
    ]);
  });
});
