/**
 * Redis Cluster hash slots (https://redis.io/docs/latest/operate/oss_and_stack/reference/cluster-spec/#key-distribution-model).
 * The version counter of a key must live in the key's own slot, so the Lua script may touch both in Cluster
 * mode. We precompute, for every slot, a short hash tag that maps to it.
 */
const SLOTS = 16384;

const CRC16_TABLE = (() => {
  const table = new Uint16Array(256);
  for (let i = 0; i < 256; i++) {
    let crc = i << 8;
    for (let j = 0; j < 8; j++) crc = crc & 0x8000 ? ((crc << 1) ^ 0x1021) & 0xffff : (crc << 1) & 0xffff;
    table[i] = crc;
  }
  return table;
})();

/** CRC16-CCITT (XMODEM), the variant Redis Cluster uses. */
export function crc16(bytes: Uint8Array): number {
  let crc = 0;
  for (const b of bytes) crc = ((crc << 8) ^ (CRC16_TABLE[((crc >> 8) ^ b) & 0xff] as number)) & 0xffff;
  return crc;
}

/** The slot of a key, honouring `{hash tags}` exactly as the server does. */
export function keyHashSlot(key: Buffer): number {
  const open = key.indexOf(0x7b); // '{'
  if (open !== -1) {
    const close = key.indexOf(0x7d, open + 1); // '}'
    if (close > open + 1) return crc16(key.subarray(open + 1, close)) % SLOTS;
  }
  return crc16(key) % SLOTS;
}

let tags: string[] | undefined;

/** A tag whose slot is `slot` (found once by enumerating short base-36 strings; ~100k CRCs, a few ms). */
export function slotTag(slot: number): string {
  if (!tags) {
    const found: Array<string | undefined> = new Array<string | undefined>(SLOTS);
    let remaining = SLOTS;
    for (let n = 0; remaining > 0; n++) {
      const tag = n.toString(36);
      const s = crc16(Buffer.from(tag)) % SLOTS;
      if (found[s] === undefined) {
        found[s] = tag;
        remaining--;
      }
    }
    tags = found as string[];
  }
  return tags[slot] as string;
}

/** Reserved key prefix for the replicator's own keys; capture ignores notifications for it. */
export const INTERNAL_PREFIX = '__cdc:';
const INTERNAL_PREFIX_BYTES = Buffer.from(INTERNAL_PREFIX);

export function isInternalKey(key: Buffer): boolean {
  return (
    key.length >= INTERNAL_PREFIX_BYTES.length &&
    key.subarray(0, INTERNAL_PREFIX_BYTES.length).equals(INTERNAL_PREFIX_BYTES)
  );
}

/** The version counter for `key`: same slot, so one script can read the key and bump its version atomically. */
export function versionKeyFor(key: Buffer): string {
  return `${INTERNAL_PREFIX}ver:{${slotTag(keyHashSlot(key))}}`;
}
