import { describe, expect, it } from 'vitest';
import { classify } from './compare';
import type { ItemState } from './item-layout';

const W = 'cdc:test';
const str = (s: string) => ({ type: 'string' as const, data: Buffer.from(s) });
function item(over: Partial<ItemState>): ItemState {
  return {
    key: Buffer.from('k'),
    version: 1n,
    deleted: false,
    value: str('a'),
    expireAtSeconds: null,
    capturedAt: 0,
    appliedAt: 0,
    origin: 'live',
    writer: W,
    ...over,
  };
}

describe('classify', () => {
  it('matches equal values, and a tombstone against an absent key', () => {
    expect(classify(item({}), { value: str('a'), expireAtMs: null }, W)).toBe('match');
    expect(classify(item({ deleted: true, value: null }), { value: null, expireAtMs: null }, W)).toBe(
      'match',
    );
    expect(classify(null, { value: null, expireAtMs: null }, W)).toBe('match');
  });

  it('finds missing, extra, value, type, ttl and foreign', () => {
    expect(classify(null, { value: str('a'), expireAtMs: null }, W)).toBe('missing');
    expect(classify(item({ deleted: true, value: null }), { value: str('a'), expireAtMs: null }, W)).toBe(
      'missing',
    );
    expect(classify(item({}), { value: null, expireAtMs: null }, W)).toBe('extra');
    expect(classify(item({}), { value: str('b'), expireAtMs: null }, W)).toBe('value');
    expect(classify(item({}), { value: { type: 'list', items: [] }, expireAtMs: null }, W)).toBe('type');
    expect(classify(item({}), { value: str('a'), expireAtMs: 5_000_000 }, W)).toBe('ttl');
    expect(classify(item({ expireAtSeconds: 5000 }), { value: str('a'), expireAtMs: 5_000_000 }, W)).toBe(
      'match',
    );
    expect(classify(item({ writer: 'someone-else' }), { value: str('a'), expireAtMs: null }, W)).toBe(
      'foreign',
    );
  });
});

describe('HyperLogLog strings', () => {
  it('ignore the cached cardinality PFCOUNT rewrites without an event', () => {
    const hll = Buffer.concat([
      Buffer.from('HYLL'),
      Buffer.from([1, 0, 0, 0]),
      Buffer.alloc(8, 0x80),
      Buffer.from('registers'),
    ]);
    const counted = Buffer.from(hll);
    counted.fill(0, 8, 16);
    counted[8] = 3;
    const redisSide = { value: { type: 'string' as const, data: counted }, expireAtMs: null };
    expect(classify(item({ value: { type: 'string', data: hll } }), redisSide, W)).toBe('match');
    const otherRegisters = Buffer.concat([hll.subarray(0, 16), Buffer.from('different')]);
    expect(classify(item({ value: { type: 'string', data: otherRegisters } }), redisSide, W)).toBe('value');
  });
});
