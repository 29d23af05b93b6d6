import type { ChangeEvent, Op, Origin, RedisValue } from './change-event';
import { splitVersion } from './version';

/**
 * Avro binary of a v2 ChangeEvent (schemas/change-event.v2.json), written by hand: byte-identical to avsc's
 * output (codec.spec.ts checks that on arbitrary events) at a fraction of its cost, which went into wrapped
 * union objects, BigInt long buffers and per-record validation on capture's hot path. The codec uses it only
 * while the writer schema is v2 (same fingerprint); a new schema version falls back to avsc until this writer
 * learns it. https://avro.apache.org/docs/1.11.1/specification/#binary-encoding
 */

const OP_INDEX: Readonly<Record<Op, number>> = { UPSERT: 0, DELETE: 1 };
const ORIGIN_INDEX: Readonly<Record<Origin, number>> = { live: 0, snapshot: 1, repair: 2, replay: 3 };
/** RedisType enum symbol of each value type; the value union's branch is this + 1 (branch 0 is null). */
const TYPE_INDEX: Readonly<Record<RedisValue['type'], number>> = {
  string: 0,
  hash: 1,
  list: 2,
  set: 3,
  zset: 4,
};

/** Beyond this a zigzagged long no longer fits a double exactly: such longs take the BigInt path. */
const SAFE_LONG = 2 ** 52;
const MAX_CACHED_STRINGS = 1024;

export class EventWriter {
  private buf = Buffer.allocUnsafe(64 * 1024);
  private pos = 0;
  /** Encoded (length-prefixed) sourceId and event names: a handful of distinct strings, each written often. */
  private readonly strings = new Map<string, Buffer>();

  /** `header` followed by the event's Avro body, in a buffer of its own. */
  encode(header: Buffer, e: ChangeEvent): Buffer {
    this.pos = 0;
    this.bytes(header, false);
    this.cachedString(e.sourceId);
    this.varint(e.db >= 0 ? e.db * 2 : -e.db * 2 - 1);
    this.bytes(e.key, true);
    this.varint(OP_INDEX[e.op] * 2);
    const v = e.value;
    if (v === null) {
      this.byte(0); // redisType: null
      this.byte(0); // value: null
    } else {
      const t = TYPE_INDEX[v.type];
      this.byte(2); // redisType: branch 1 (zigzag 1 = 2)
      this.varint(t * 2);
      this.varint((t + 1) * 2);
      this.value(v);
    }
    const { epoch, position } = splitVersion(e.version);
    this.long(position);
    this.long(epoch);
    if (e.expireAt === null) this.byte(0);
    else {
      this.byte(2);
      this.long(e.expireAt);
    }
    this.cachedString(e.event);
    this.varint(ORIGIN_INDEX[e.origin] * 2);
    this.long(e.capturedAt);
    const out = Buffer.allocUnsafe(this.pos);
    this.buf.copy(out, 0, 0, this.pos);
    return out;
  }

  private value(v: RedisValue): void {
    switch (v.type) {
      case 'string':
        return this.bytes(v.data, true);
      case 'hash':
        this.blockCount(v.fields.length);
        for (const [field, value] of v.fields) {
          this.bytes(field, true);
          this.bytes(value, true);
        }
        return this.byte(0);
      case 'list':
        return this.bytesArray(v.items);
      case 'set':
        return this.bytesArray(v.members);
      case 'zset':
        this.blockCount(v.members.length);
        for (const [member, score] of v.members) {
          this.bytes(member, true);
          this.ensure(8);
          this.pos = this.buf.writeDoubleLE(score, this.pos);
        }
        return this.byte(0);
    }
  }

  /** An array is written as one block (count, items) then the 0 terminator, as avsc does; empty: just 0. */
  private blockCount(n: number): void {
    if (n > 0) this.varint(n * 2);
  }

  private bytesArray(items: readonly Buffer[]): void {
    this.blockCount(items.length);
    for (const item of items) this.bytes(item, true);
    this.byte(0);
  }

  private cachedString(s: string): void {
    let enc = this.strings.get(s);
    if (!enc) {
      const utf8 = Buffer.from(s, 'utf8');
      const start = this.pos;
      this.bytes(utf8, true);
      enc = Buffer.from(this.buf.subarray(start, this.pos));
      if (this.strings.size < MAX_CACHED_STRINGS) this.strings.set(s, enc);
      return;
    }
    this.bytes(enc, false);
  }

  private bytes(b: Uint8Array, withLength: boolean): void {
    if (withLength) this.varint(b.length * 2);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }

  private byte(b: number): void {
    this.ensure(1);
    this.buf[this.pos++] = b;
  }

  private long(n: bigint | number): void {
    const num = typeof n === 'bigint' ? Number(n) : n;
    if (num < SAFE_LONG && num > -SAFE_LONG) this.varint(num >= 0 ? num * 2 : -num * 2 - 1);
    else this.bigVarint(typeof n === 'bigint' ? n : BigInt(n));
  }

  /** Unsigned varint of an already zigzagged integer below 2^53. */
  private varint(n: number): void {
    this.ensure(10);
    const buf = this.buf;
    while (n >= 0x80) {
      buf[this.pos++] = (n % 0x80) | 0x80;
      n = Math.floor(n / 0x80);
    }
    buf[this.pos++] = n;
  }

  private bigVarint(n: bigint): void {
    let z = BigInt.asUintN(64, (n << 1n) ^ (n >> 63n));
    this.ensure(10);
    while (z >= 0x80n) {
      this.buf[this.pos++] = Number(z & 0x7fn) | 0x80;
      z >>= 7n;
    }
    this.buf[this.pos++] = Number(z);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(grown, 0, 0, this.pos);
    this.buf = grown;
  }
}
