import * as avro from 'avsc';
import changeEventV1 from '../schemas/change-event.v1.json';
import changeEventV2 from '../schemas/change-event.v2.json';

/**
 * Avro longs as BigInt. avsc's default long type throws beyond 2^53; versions must not be bounded by that.
 * See avsc's LongType.__with documentation.
 */
const bigintLong = avro.types.LongType.__with({
  fromBuffer: (buf: Buffer) => buf.readBigInt64LE(),
  toBuffer: (n: bigint) => {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(n);
    return buf;
  },
  fromJSON: (v: unknown) => BigInt(v as string | number),
  toJSON: (n: bigint) => Number(n),
  isValid: (n: unknown) => typeof n === 'bigint',
  compare: (a: bigint, b: bigint) => (a === b ? 0 : a < b ? -1 : 1),
});

/**
 * Every schema version ever written, oldest first (Avro JSON files under version control, imported as JSON so
 * bundles carry them). Readers resolve any of them to the newest; the last one is what capture writes.
 * Evolution = add a file here and a compatibility case in codec.spec.ts.
 */
export const WRITER_SCHEMAS: readonly avro.Schema[] = [
  changeEventV1 as avro.Schema,
  changeEventV2 as avro.Schema,
];

export function parseType(schema: avro.Schema): avro.Type {
  // wrapUnions: the value union holds several records, which must be told apart by name.
  return avro.Type.forSchema(schema, { registry: { long: bigintLong }, wrapUnions: true });
}
