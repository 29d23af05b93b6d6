import { describe, expect, it } from 'vitest';
import { rabinFingerprint64 } from './rabin';

// Reference fingerprints of primitive schemas' canonical forms, as Java's
// SchemaNormalization.parsingFingerprint64 prints them (signed longs).
const VECTORS: Array<[string, bigint]> = [
  ['"null"', 7195948357588979594n],
  ['"boolean"', -6970731678124411036n],
  ['"int"', 8247732601305521295n],
  ['"long"', -3434872931120570953n],
  ['"string"', -8142146995180207161n],
];

describe('rabinFingerprint64', () => {
  it.each(VECTORS)('matches the Avro reference for %s', (schema, expected) => {
    expect(BigInt.asIntN(64, rabinFingerprint64(Buffer.from(schema)))).toBe(expected);
  });

  it('differs for different inputs', () => {
    expect(rabinFingerprint64(Buffer.from('"int"'))).not.toBe(rabinFingerprint64(Buffer.from('"long"')));
  });
});
