/**
 * CRC-64-AVRO ("Rabin") fingerprint of a schema's Parsing Canonical Form, as the Avro spec defines it for
 * single-object encoding: https://avro.apache.org/docs/1.11.1/specification/#schema-fingerprints
 * avsc only offers md5/sha256 fingerprints, so this small function is ours.
 */
const EMPTY = 0xc15d213aa4d7a795n;
const MASK = 0xffffffffffffffffn;

const TABLE: bigint[] = Array.from({ length: 256 }, (_, i) => {
  let fp = BigInt(i);
  for (let j = 0; j < 8; j++) {
    fp = (fp >> 1n) ^ (EMPTY & -(fp & 1n) & MASK);
  }
  return fp;
});

/** Returns the fingerprint as an unsigned 64-bit BigInt. */
export function rabinFingerprint64(data: Buffer): bigint {
  let fp = EMPTY;
  for (const byte of data) {
    fp = (fp >> 8n) ^ (TABLE[Number((fp ^ BigInt(byte)) & 0xffn)] as bigint);
  }
  return fp;
}
