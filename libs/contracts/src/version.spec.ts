import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { compareVersion, composeVersion, latestPerKey, POSITION_RADIX, splitVersion } from './version';

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

describe('composeVersion', () => {
  const part = fc.bigInt({ min: 0n, max: 2n ** 63n - 1n });
  const lexicographic = (a: [bigint, bigint], b: [bigint, bigint]) =>
    a[0] !== b[0] ? (a[0] < b[0] ? -1 : 1) : a[1] === b[1] ? 0 : a[1] < b[1] ? -1 : 1;
  const sign = (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1);

  it('orders versions exactly as (epoch, position) pairs (property)', () => {
    fc.assert(
      fc.property(part, part, part, part, (e1, p1, e2, p2) => {
        expect(sign(composeVersion(e1, p1), composeVersion(e2, p2))).toBe(lexicographic([e1, p1], [e2, p2]));
      }),
      { numRuns: 5000 },
    );
  });

  it('a later epoch beats any position of an earlier one, even a far larger one (property)', () => {
    fc.assert(
      fc.property(part, part, part, (e, pOld, pNew) => {
        fc.pre(e < 2n ** 63n - 1n);
        expect(compareVersion(composeVersion(e + 1n, pNew), composeVersion(e, pOld))).toBe('newer');
      }),
    );
  });

  it('splits back into its parts (property), and its decimal ends with the 19-digit position', () => {
    fc.assert(
      fc.property(part, part, (epoch, position) => {
        expect(splitVersion(composeVersion(epoch, position))).toEqual({ epoch, position });
      }),
    );
    expect(composeVersion(1_796_528_890_092_284n, 37_441_689n).toString()).toBe(
      '17965288900922840000000000037441689',
    );
  });

  it('every v1 version (epoch 0) orders before every version of epoch 1 and later', () => {
    expect(composeVersion(0n, 2n ** 63n - 1n) < composeVersion(1n, 0n)).toBe(true);
    expect(composeVersion(0n, 1_764_000_000_000_001n)).toBe(1_764_000_000_000_001n);
  });

  it('refuses parts that do not fit an Avro long, and values that are not versions', () => {
    expect(() => composeVersion(-1n, 0n)).toThrow(RangeError);
    expect(() => composeVersion(0n, 2n ** 63n)).toThrow(RangeError);
    expect(() => splitVersion(-1n)).toThrow(RangeError);
    expect(() => splitVersion(POSITION_RADIX - 1n)).toThrow(RangeError); // position 10^19 - 1 > 2^63 - 1
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
