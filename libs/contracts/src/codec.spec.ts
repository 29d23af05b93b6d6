import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChangeEvent, RedisValue } from './change-event';
import { ChangeEventCodec } from './codec';
import { ContractError } from './errors';
import type * as avro from 'avsc';
import changeEventV1 from '../schemas/change-event.v1.json';
import { parseType, WRITER_SCHEMAS } from './avro-types';
import { EventWriter } from './fast-encoder';
import { composeVersion } from './version';

const codec = new ChangeEventCodec();
const MAX_LONG = 2n ** 63n - 1n;
/** Any valid version: an epoch and a position, each an Avro long that is not negative. */
const version = fc
  .tuple(fc.bigInt({ min: 0n, max: MAX_LONG }), fc.bigInt({ min: 0n, max: MAX_LONG }))
  .map(([epoch, position]) => composeVersion(epoch, position));

function upsert(value: RedisValue, overrides: Partial<ChangeEvent> = {}): ChangeEvent {
  return {
    sourceId: 'src',
    db: 0,
    key: Buffer.from('user:1'),
    op: 'UPSERT',
    value,
    version: 1_764_000_000_000_001n,
    expireAt: null,
    event: 'set',
    origin: 'live',
    capturedAt: 1_764_000_000_000,
    ...overrides,
  };
}

const bytes = fc.uint8Array({ maxLength: 24 }).map((a) => Buffer.from(a));
const redisValue: fc.Arbitrary<RedisValue> = fc.oneof(
  bytes.map((data) => ({ type: 'string' as const, data })),
  fc.array(fc.tuple(bytes, bytes), { maxLength: 5 }).map((fields) => ({ type: 'hash' as const, fields })),
  fc.array(bytes, { maxLength: 5 }).map((items) => ({ type: 'list' as const, items })),
  fc.array(bytes, { maxLength: 5 }).map((members) => ({ type: 'set' as const, members })),
  fc
    .array(fc.tuple(bytes, fc.double({ noNaN: true })), { maxLength: 5 })
    .map((members) => ({ type: 'zset' as const, members })),
);

describe('ChangeEventCodec', () => {
  it('frames with the single-object magic and the writer fingerprint', () => {
    const buf = codec.encode(upsert({ type: 'string', data: Buffer.from('v') }));
    expect([...buf.subarray(0, 2)]).toEqual([0xc3, 0x01]);
    expect(buf.subarray(2, 10).toString('hex')).toBe(codec.writerFingerprint);
  });

  it('round-trips versions above 2^53 exactly', () => {
    const version = 2n ** 60n + 7n;
    const out = codec.decode(codec.encode(upsert({ type: 'string', data: Buffer.from('x') }, { version })));
    expect(out.version).toBe(version);
  });

  it('round-trips a DELETE with no value and a TTL', () => {
    const del: ChangeEvent = {
      ...upsert({ type: 'string', data: Buffer.alloc(0) }),
      op: 'DELETE',
      value: null,
    };
    const out = codec.decode(codec.encode({ ...del, expireAt: 1_800_000_000_123, event: 'del' }));
    expect(out).toMatchObject({ op: 'DELETE', value: null, expireAt: 1_800_000_000_123, event: 'del' });
  });

  it('round-trips any value of any type, binary-safe (property)', () => {
    fc.assert(
      fc.property(redisValue, bytes, version, (value, key, v) => {
        const event = upsert(value, { key, version: v, origin: 'snapshot' });
        expect(codec.decode(codec.encode(event))).toEqual(event);
      }),
    );
  });

  it('the hand-written encoder is byte-identical to avsc on any event (property)', () => {
    const event: fc.Arbitrary<ChangeEvent> = fc.record({
      sourceId: fc.string({ unit: 'grapheme', maxLength: 12 }),
      db: fc.integer({ min: 0, max: 2 ** 31 - 1 }),
      key: bytes,
      op: fc.constantFrom('UPSERT' as const, 'DELETE' as const),
      value: fc.option(
        redisValue.chain((v): fc.Arbitrary<RedisValue> =>
          v.type === 'zset'
            ? fc
                .array(fc.tuple(bytes, fc.double()), { maxLength: 5 })
                .map((members) => ({ type: 'zset' as const, members }))
            : fc.constant(v),
        ),
      ),
      version: version,
      expireAt: fc.option(fc.integer({ min: -(2 ** 52), max: 2 ** 52 })),
      event: fc.string({ unit: 'grapheme', maxLength: 12 }),
      origin: fc.constantFrom('live' as const, 'snapshot' as const, 'repair' as const, 'replay' as const),
      capturedAt: fc.maxSafeNat(),
    });
    const writer = new EventWriter(); // itself, not through encode(): a fallback must not pass this vacuously
    fc.assert(
      fc.property(event, (e) => {
        const reference = codec.encodeWithAvsc(e);
        expect(writer.encode(reference.subarray(0, 10), e).equals(reference)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('the hand-written encoder grows its buffer for values larger than it started with', () => {
    const big = upsert({ type: 'list', items: Array.from({ length: 40 }, () => Buffer.alloc(4096, 7)) });
    const reference = codec.encodeWithAvsc(big);
    expect(new EventWriter().encode(reference.subarray(0, 10), big).equals(reference)).toBe(true);
    expect(codec.decode(codec.encode(big))).toEqual(big);
  });

  it('rejects bytes that are not single-object encoded', () => {
    expect(() => codec.decode(Buffer.from('{"json":true}'))).toThrow(ContractError);
    try {
      codec.decode(Buffer.from('{"json":true}'));
    } catch (e) {
      expect((e as ContractError).code).toBe('BAD_MAGIC');
    }
  });

  it('rejects an unknown schema fingerprint with its hex', () => {
    const buf = Buffer.from(codec.encode(upsert({ type: 'string', data: Buffer.from('v') })));
    buf.writeBigUInt64LE(42n, 2);
    expect(() => codec.decode(buf)).toThrow(/unknown writer schema fingerprint 2a00000000000000/);
  });

  it('rejects a truncated body as UNDECODABLE', () => {
    const buf = codec.encode(upsert({ type: 'string', data: Buffer.from('value') }));
    expect(() => codec.decode(buf.subarray(0, buf.length - 3))).toThrow(
      expect.objectContaining({ code: 'UNDECODABLE' }) as Error,
    );
  });

  it('decodes events written with schema v1 as epoch 0, ordered before any v2 epoch', () => {
    const v1Only = new ChangeEventCodec([changeEventV1 as avro.Schema]);
    const legacy = upsert({ type: 'string', data: Buffer.from('old') }, { version: 1_796_000_000_000_000n });
    const bytesV1 = v1Only.encodeWithAvsc(legacy);
    expect(bytesV1.subarray(2, 10).toString('hex')).not.toBe(codec.writerFingerprint);
    const decoded = codec.decode(bytesV1);
    expect(decoded).toEqual(legacy);
    expect(decoded.version < composeVersion(1n, 0n)).toBe(true);
  });

  it('a reader that knows only v1 sends v2 bytes to the DLQ (UNKNOWN_SCHEMA), never misorders them', () => {
    const v1Only = new ChangeEventCodec([changeEventV1 as avro.Schema]);
    const event = upsert({ type: 'string', data: Buffer.from('new') }, { version: composeVersion(5n, 9n) });
    expect(() => v1Only.decode(codec.encode(event))).toThrow(
      expect.objectContaining({ code: 'UNKNOWN_SCHEMA' }) as Error,
    );
  });

  it('writes the epoch and the position as two longs of schema v2', () => {
    const event = upsert({ type: 'string', data: Buffer.from('x') }, { version: composeVersion(17n, 42n) });
    const v2 = parseType(WRITER_SCHEMAS[WRITER_SCHEMAS.length - 1] as avro.Schema);
    const record = v2.fromBuffer(codec.encode(event).subarray(10)) as { version: bigint; epoch: bigint };
    expect({ version: record.version, epoch: record.epoch }).toEqual({ version: 42n, epoch: 17n });
  });

  it('rejects a negative version as INVALID_EVENT', () => {
    const v1 = parseType(changeEventV1 as avro.Schema);
    const v1Only = new ChangeEventCodec([changeEventV1 as avro.Schema]);
    const header = v1Only.encodeWithAvsc(upsert({ type: 'string', data: Buffer.from('x') })).subarray(0, 10);
    const body = v1.toBuffer({
      sourceId: 's',
      db: 0,
      key: Buffer.from('k'),
      op: 'DELETE',
      redisType: null,
      value: null,
      version: -5n,
      expireAt: null,
      event: 'del',
      origin: 'LIVE',
      capturedAt: 1n,
    });
    expect(() => codec.decode(Buffer.concat([header, body]))).toThrow(
      expect.objectContaining({ code: 'INVALID_EVENT' }) as Error,
    );
  });
});
