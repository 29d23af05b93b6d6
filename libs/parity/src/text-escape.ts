/**
 * Lossless text form for Redis byte strings where DynamoDB needs a string (the `pk`, hash field names, set
 * members): valid UTF-8 stays as it is; anything else (invalid UTF-8, empty, or text that itself starts with
 * the prefix) becomes PREFIX + base64. Decoding is unambiguous because no plain value ever starts with PREFIX.
 * Public contract: documented in docs/item-layout.md.
 */
export const ESCAPE_PREFIX = '\u0000b64:';

const decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8OrNull(bytes: Buffer): string | null {
  try {
    return decoder.decode(bytes);
  } catch {
    return null;
  }
}

export function encodeText(bytes: Buffer): string {
  const text = bytes.length > 0 ? utf8OrNull(bytes) : null;
  if (text !== null && !text.startsWith(ESCAPE_PREFIX)) return text;
  return ESCAPE_PREFIX + bytes.toString('base64');
}

export function decodeText(text: string): Buffer {
  return text.startsWith(ESCAPE_PREFIX)
    ? Buffer.from(text.slice(ESCAPE_PREFIX.length), 'base64')
    : Buffer.from(text, 'utf8');
}
