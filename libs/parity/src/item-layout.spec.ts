import type { ChangeEvent, RedisValue } from '@cdc/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { eventToItem, itemToState, keyToPk } from './item-layout';
import { normalise } from './normalise';
import { decodeText, encodeText, ESCAPE_PREFIX } from './text-escape';

const opts = { writer: 'cdc:test', appliedAt: 1_764_000_000_500, tombstoneTtlSeconds: 86_400 };

function event(value: RedisValue | null, extra: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    sourceId: 's',
    db: 0,
    key: Buffer.from('k'),
    op: value ? 'UPSERT' : 'DELETE',
    value,
    version: 10n,
    expireAt: null,
    event: value ? 'set' : 'del',
    origin: 'live',
    capturedAt: 1_764_000_000_000,
    ...extra,
  };
}

const bytes = fc.uint8Array({ maxLength: 16 }).map((a) => Buffer.from(a));
const text = fc.string({ maxLength: 8 }).map((s) => Buffer.from(s, 'utf8'));
const anyBytes = fc.oneof(bytes, text);
const uniq = <T>(arr: fc.Arbitrary<T[]>, key: (t: T) => string): fc.Arbitrary<T[]> =>
  arr.map((xs) => [...new Map(xs.map((x) => [key(x), x])).values()]);
const redisValue: fc.Arbitrary<RedisValue> = fc.oneof(
  anyBytes.map((data) => ({ type: 'string' as const, data })),
  uniq(fc.array(fc.tuple(anyBytes, anyBytes), { maxLength: 5 }), ([f]) => f.toString('hex')).map(
    (fields) => ({
      type: 'hash' as const,
      fields,
    }),
  ),
  fc.array(anyBytes, { maxLength: 5 }).map((items) => ({ type: 'list' as const, items })),
  uniq(fc.array(anyBytes, { minLength: 1, maxLength: 5 }), (m) => m.toString('hex')).map((members) => ({
    type: 'set' as const,
    members,
  })),
  uniq(
    fc.array(
      fc.tuple(anyBytes, fc.oneof(fc.double({ noNaN: true, noDefaultInfinity: false }), fc.integer())),
      {
        maxLength: 5,
      },
    ),
    ([m]) => m.toString('hex'),
  ).map((members) => ({ type: 'zset' as const, members })),
);

describe('text escape', () => {
  it('keeps valid UTF-8 readable and escapes what is not', () => {
    expect(encodeText(Buffer.from('user:1'))).toBe('user:1');
    expect(encodeText(Buffer.from([0xff, 0x00]))).toBe(`${ESCAPE_PREFIX}/wA=`);
    expect(encodeText(Buffer.alloc(0))).toBe(ESCAPE_PREFIX);
  });

  it('is lossless for any bytes, including ones that look escaped (property)', () => {
    const tricky = fc.string().map((s) => Buffer.from(ESCAPE_PREFIX + s, 'utf8'));
    fc.assert(
      fc.property(fc.oneof(anyBytes, tricky), (b) => {
        expect(decodeText(encodeText(b))).toEqual(b);
      }),
    );
  });
});

describe('eventToItem / itemToState', () => {
  it('writes the documented layout for a hash with a TTL', () => {
    const item = eventToItem(
      event(
        { type: 'hash', fields: [[Buffer.from('name'), Buffer.from('ada')]] },
        { event: 'hset', expireAt: 1_764_000_100_200 },
      ),
      opts,
    );
    expect(item).toEqual({
      pk: { S: 'k' },
      ver: { N: '10' },
      type: { S: 'hash' },
      val: { M: { name: { S: 'ada' } } },
      expireAt: { N: '1764000101' },
      capturedAt: { N: '1764000000000' },
      appliedAt: { N: '1764000000500' },
      origin: { S: 'live' },
      writer: { S: 'cdc:test' },
      event: { S: 'hset' },
    });
  });

  it('writes a tombstone that keeps the version and expires after the retention', () => {
    const item = eventToItem(event(null), opts);
    expect(item.deleted).toEqual({ BOOL: true });
    expect(item.ver).toEqual({ N: '10' });
    expect(item.val).toBeUndefined();
    expect(Number(item.expireAt?.N)).toBe(Math.floor(opts.appliedAt / 1000) + 86_400);
    expect(itemToState(item)).toMatchObject({ deleted: true, value: null, version: 10n });
  });

  it('stores binary strings as B and binary keys escaped', () => {
    const key = Buffer.from([0xc3, 0x28]);
    const item = eventToItem(event({ type: 'string', data: Buffer.from([0xff]) }, { key }), opts);
    expect(item.val).toEqual({ B: Buffer.from([0xff]) });
    expect(item.pk?.S).toBe(keyToPk(key));
    expect(itemToState(item).key).toEqual(key);
  });

  it('Redis value -> event -> item -> normalised value is lossless (property)', () => {
    fc.assert(
      fc.property(redisValue, anyBytes, (value, key) => {
        const state = itemToState(eventToItem(event(value, { key }), opts));
        expect(state.key).toEqual(key);
        expect(normalise(state.value)).toBe(normalise(value));
      }),
    );
  });
});

describe('zset scores beyond DynamoDB numbers', () => {
  it('stores out-of-range scores as text and reads them back exactly', () => {
    const members = [
      [Buffer.from('huge'), 1e300],
      [Buffer.from('tiny'), 5e-324],
      [Buffer.from('min'), -1.7976931348623157e308],
      [Buffer.from('ok'), 1.5],
      [Buffer.from('zero'), 0],
      [Buffer.from('inf'), Infinity],
    ] as const;
    const item = eventToItem(event({ type: 'zset', members }), opts);
    expect(item.val?.M?.huge).toEqual({ S: '1e+300' });
    expect(item.val?.M?.tiny).toEqual({ S: '5e-324' });
    expect(item.val?.M?.ok).toEqual({ N: '1.5' });
    expect(item.val?.M?.zero).toEqual({ N: '0' });
    expect(normalise(itemToState(item).value)).toBe(normalise({ type: 'zset', members }));
  });
});
