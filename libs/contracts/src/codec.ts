import type * as avro from 'avsc';
import { parseType, WRITER_SCHEMAS } from './avro-types';
import changeEventV2 from '../schemas/change-event.v2.json';
import type { ChangeEvent, Op, Origin, RedisType, RedisValue } from './change-event';
import { ContractError } from './errors';
import { EventWriter } from './fast-encoder';
import { rabinFingerprint64 } from './rabin';
import { composeVersion, splitVersion } from './version';

/**
 * Avro single-object encoding: 0xC3 0x01, the 8-byte little-endian CRC-64-AVRO fingerprint of the writer
 * schema, then the Avro binary body. https://avro.apache.org/docs/1.11.1/specification/#single-object-encoding
 * The fingerprint lets a reader decode any schema version it knows, and reject (to the DLQ) one it does not.
 */
const MAGIC = Buffer.from([0xc3, 0x01]);
const HEADER_LENGTH = 10;
const NS = 'cdc.redis.v1.';

interface KnownSchema {
  readonly fingerprint: bigint;
  readonly type: avro.Type;
  readonly resolver: avro.Resolver;
}

export class ChangeEventCodec {
  private readonly writer: avro.Type;
  private readonly header: Buffer;
  private readonly known = new Map<bigint, KnownSchema>();
  /** The hand-written encoder, while the writer schema is the one it was written for. */
  private readonly fast: EventWriter | undefined;

  constructor(schemas: readonly avro.Schema[] = WRITER_SCHEMAS) {
    const types = schemas.map(parseType);
    const newest = types[types.length - 1];
    if (!newest) throw new Error('ChangeEventCodec needs at least one schema');
    this.writer = newest;
    for (const type of types) {
      const fingerprint = schemaFingerprint(type);
      this.known.set(fingerprint, { fingerprint, type, resolver: this.writer.createResolver(type) });
    }
    this.header = Buffer.alloc(HEADER_LENGTH);
    MAGIC.copy(this.header);
    const writerFingerprint = schemaFingerprint(this.writer);
    this.header.writeBigUInt64LE(writerFingerprint, 2);
    if (writerFingerprint === schemaFingerprint(parseType(changeEventV2 as avro.Schema)))
      this.fast = new EventWriter();
  }

  /** The fingerprint written into every event, as 16 hex digits (for logs and DLQ headers). */
  get writerFingerprint(): string {
    return this.header.subarray(2).toString('hex');
  }

  encode(event: ChangeEvent): Buffer {
    return this.fast ? this.fast.encode(this.header, event) : this.encodeWithAvsc(event);
  }

  /** avsc's encoding: the reference the fast path must equal byte for byte, and the path for other schemas. */
  encodeWithAvsc(event: ChangeEvent): Buffer {
    return Buffer.concat([this.header, this.writer.toBuffer(toAvro(event))]);
  }

  decode(bytes: Buffer): ChangeEvent {
    if (bytes.length < HEADER_LENGTH || bytes[0] !== MAGIC[0] || bytes[1] !== MAGIC[1]) {
      throw new ContractError(
        'BAD_MAGIC',
        'not an Avro single-object encoded change event (bad magic bytes)',
      );
    }
    const fingerprint = bytes.readBigUInt64LE(2);
    const schema = this.known.get(fingerprint);
    if (!schema) {
      throw new ContractError(
        'UNKNOWN_SCHEMA',
        `unknown writer schema fingerprint ${bytes.subarray(2, HEADER_LENGTH).toString('hex')}`,
      );
    }
    let record: AvroChangeEvent;
    try {
      record = this.writer.fromBuffer(bytes.subarray(HEADER_LENGTH), schema.resolver) as AvroChangeEvent;
    } catch (err) {
      throw new ContractError('UNDECODABLE', `Avro body does not decode: ${(err as Error).message}`);
    }
    return fromAvro(record);
  }
}

export function schemaFingerprint(type: avro.Type): bigint {
  // avsc's schema() without options is the Parsing Canonical Form.
  return rabinFingerprint64(Buffer.from(JSON.stringify(type.schema()), 'utf8'));
}

// ---- domain <-> Avro record shape ----

/** A wrapped union branch: { 'cdc.redis.v1.<Record>': body } or null. */
type AvroValue = null | Record<string, Record<string, unknown>>;

interface AvroChangeEvent {
  sourceId: string;
  db: number;
  key: Buffer;
  op: Op;
  redisType: { [k: string]: string } | null;
  value: AvroValue;
  version: bigint;
  /** Absent only in the shape of schema v1, which a reader resolves to 0. */
  epoch: bigint;
  expireAt: { long: bigint } | null;
  event: string;
  origin: string;
  capturedAt: bigint;
}

function toAvro(e: ChangeEvent): AvroChangeEvent {
  const { epoch, position } = splitVersion(e.version);
  return {
    sourceId: e.sourceId,
    db: e.db,
    key: e.key,
    op: e.op,
    redisType: e.value ? { [`${NS}RedisType`]: e.value.type.toUpperCase() } : null,
    value: valueToAvro(e.value),
    version: position,
    epoch,
    expireAt: e.expireAt === null ? null : { long: BigInt(e.expireAt) },
    event: e.event,
    origin: e.origin.toUpperCase(),
    capturedAt: BigInt(e.capturedAt),
  };
}

function valueToAvro(v: RedisValue | null): AvroValue {
  if (v === null) return null;
  switch (v.type) {
    case 'string':
      return { [`${NS}StringValue`]: { data: v.data } };
    case 'hash':
      return { [`${NS}HashValue`]: { fields: v.fields.map(([field, value]) => ({ field, value })) } };
    case 'list':
      return { [`${NS}ListValue`]: { items: [...v.items] } };
    case 'set':
      return { [`${NS}SetValue`]: { members: [...v.members] } };
    case 'zset':
      return {
        [`${NS}ZSetValue`]: { members: v.members.map(([member, score]) => ({ member, score })) },
      };
  }
}

function fromAvro(r: AvroChangeEvent): ChangeEvent {
  const value = valueFromAvro(r.value);
  const redisType = r.redisType ? (Object.values(r.redisType)[0] ?? '').toLowerCase() : null;
  if ((r.op === 'DELETE') !== (value === null)) {
    throw new ContractError('INVALID_EVENT', `${r.op} event ${value ? 'with' : 'without'} a value`);
  }
  if (r.version < 0n || r.epoch < 0n) {
    throw new ContractError(
      'INVALID_EVENT',
      `negative version part (epoch ${r.epoch}, version ${r.version})`,
    );
  }
  if (value && redisType !== value.type) {
    throw new ContractError(
      'INVALID_EVENT',
      `redisType ${String(redisType)} does not match a ${value.type} value`,
    );
  }
  return {
    sourceId: r.sourceId,
    db: r.db,
    key: r.key,
    op: r.op,
    value,
    version: composeVersion(r.epoch, r.version),
    expireAt: r.expireAt === null ? null : Number(r.expireAt.long),
    event: r.event,
    origin: r.origin.toLowerCase() as Origin,
    capturedAt: Number(r.capturedAt),
  };
}

function valueFromAvro(v: AvroValue): RedisValue | null {
  if (v === null) return null;
  const [name, body] = Object.entries(v)[0] as [string, Record<string, unknown>];
  switch (name.slice(NS.length)) {
    case 'StringValue':
      return { type: 'string', data: body.data as Buffer };
    case 'HashValue':
      return {
        type: 'hash',
        fields: (body.fields as Array<{ field: Buffer; value: Buffer }>).map(
          (f) => [f.field, f.value] as const,
        ),
      };
    case 'ListValue':
      return { type: 'list', items: body.items as Buffer[] };
    case 'SetValue':
      return { type: 'set', members: body.members as Buffer[] };
    case 'ZSetValue':
      return {
        type: 'zset',
        members: (body.members as Array<{ member: Buffer; score: number }>).map(
          (m) => [m.member, m.score] as const,
        ),
      };
    default:
      throw new ContractError('INVALID_EVENT', `unknown value branch ${name}`);
  }
}

export type { RedisType };
