import { describe, expect, it } from 'vitest';
import { globMatcher } from './glob';

const m = (pattern: string, key: string | Buffer) =>
  globMatcher(pattern)(typeof key === 'string' ? Buffer.from(key) : key);

describe('globMatcher (Redis SCAN MATCH semantics)', () => {
  it('handles *, ? and literals', () => {
    expect(m('user:*', 'user:1')).toBe(true);
    expect(m('user:*', 'user:')).toBe(true);
    expect(m('user:*', 'users:1')).toBe(false);
    expect(m('h?llo', 'hello')).toBe(true);
    expect(m('h?llo', 'hllo')).toBe(false);
    expect(m('a.b', 'axb')).toBe(false); // regex specials are literals
    expect(m('*', 'line\nbreak')).toBe(true);
  });

  it('handles classes, negation, ranges (also reversed) and escapes', () => {
    expect(m('h[ae]llo', 'hallo')).toBe(true);
    expect(m('h[ae]llo', 'hillo')).toBe(false);
    expect(m('h[^e]llo', 'hallo')).toBe(true);
    expect(m('h[^e]llo', 'hello')).toBe(false);
    expect(m('k[0-9]', 'k7')).toBe(true);
    expect(m('k[9-0]', 'k7')).toBe(true);
    expect(m('k[0-9]', 'kx')).toBe(false);
    expect(m('a\\*b', 'a*b')).toBe(true);
    expect(m('a\\*b', 'axb')).toBe(false);
    expect(m('a[\\]]', 'a]')).toBe(true);
    expect(m('a[b', 'a[b')).toBe(true); // unclosed bracket is a literal
  });

  it('matches raw bytes of binary and UTF-8 keys', () => {
    expect(m('bin:*', Buffer.from([0x62, 0x69, 0x6e, 0x3a, 0xff, 0x00]))).toBe(true);
    expect(m('caf?', 'café')).toBe(false); // é is two bytes, ? is one
    expect(m('caf??', 'café')).toBe(true);
    expect(m('café*', 'café:1')).toBe(true);
  });
});
