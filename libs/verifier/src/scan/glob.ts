/**
 * Redis' glob (the SCAN MATCH language: `*`, `?`, `[abc]`, `[^a-z]`, `\x`), compiled once, matched on raw key
 * bytes. The DynamoDB side of the scan filters with it, so both sides check the same key set.
 * https://redis.io/docs/latest/commands/keys/
 */
export function globMatcher(pattern: string): (key: Buffer) => boolean {
  const re = new RegExp(`^${globToRegExpSource(Buffer.from(pattern, 'utf8'))}$`);
  // latin1 maps each byte to one char, so the regex sees the key's bytes one for one.
  return (key) => re.test(key.toString('latin1'));
}

const byte = (b: number): string => `\\x${b.toString(16).padStart(2, '0')}`;

function globToRegExpSource(p: Buffer): string {
  let out = '';
  for (let i = 0; i < p.length; i++) {
    const c = p[i] as number;
    if (c === 0x2a /* * */) out += '[\\s\\S]*';
    else if (c === 0x3f /* ? */) out += '[\\s\\S]';
    else if (c === 0x5c /* \ */ && i + 1 < p.length) out += byte(p[++i] as number);
    else if (c === 0x5b /* [ */) {
      const cls = charClass(p, i + 1);
      if (cls) {
        out += cls.source;
        i = cls.end;
      } else out += byte(c); // no closing bracket: a literal '['
    } else out += byte(c);
  }
  return out;
}

/** `[...]` starting after the '['; returns the regex class and the index of the closing ']'. */
function charClass(p: Buffer, start: number): { source: string; end: number } | null {
  let i = start;
  let negate = false;
  if (p[i] === 0x5e /* ^ */) {
    negate = true;
    i++;
  }
  let body = '';
  for (; i < p.length; i++) {
    let c = p[i] as number;
    if (c === 0x5d /* ] */) return { source: `[${negate ? '^' : ''}${body}]`, end: i };
    if (c === 0x5c && i + 1 < p.length) c = p[++i] as number;
    if (p[i + 1] === 0x2d /* - */ && i + 2 < p.length && p[i + 2] !== 0x5d) {
      let hi = p[i + 2] as number;
      i += 2;
      if (hi === 0x5c && i + 1 < p.length) hi = p[++i] as number;
      // Redis accepts reversed ranges ([z-a]).
      body += `${byte(Math.min(c, hi))}-${byte(Math.max(c, hi))}`;
    } else body += byte(c);
  }
  return null;
}
