import { describe, expect, it } from 'vitest';
import { callHeader, type KeyState, parseCall, type RawCallReply } from './versioned-read';

const b = (s: string) => Buffer.from(s);

describe('parseCall', () => {
  it('gives each key the version of its index, the call’s read time, and its TTL as an absolute time', () => {
    const keys = [b('skip'), b('s'), b('gone'), b('h')];
    const out: KeyState[] = [];
    const reply: RawCallReply = [
      b('5:primary:abc'),
      b(''),
      b('1764000000000005'),
      b('1764000000000'),
      [b('string'), 1500, b('v')],
      [b('none')],
      [b('hash'), -1, [b('f1'), b('v1'), b('f2'), b('v2')]],
    ];
    const header = callHeader(reply);
    expect(header).toEqual({
      marker: '5:primary:abc',
      replid: '',
      position: '1764000000000005',
      readAtMs: 1764000000000,
    });
    parseCall(keys, 1, reply, header.readAtMs, (i) => 1764000000000005n + BigInt(i), out);
    expect(out).toEqual([
      {
        key: b('s'),
        type: 'string',
        version: 1764000000000005n,
        expireAtMs: 1764000001500,
        readAtMs: 1764000000000,
        value: { type: 'string', data: b('v') },
      },
      {
        key: b('gone'),
        type: 'none',
        version: 1764000000000006n,
        expireAtMs: null,
        readAtMs: 1764000000000,
        value: null,
      },
      {
        key: b('h'),
        type: 'hash',
        version: 1764000000000007n,
        expireAtMs: null,
        readAtMs: 1764000000000,
        value: {
          type: 'hash',
          fields: [
            [b('f1'), b('v1')],
            [b('f2'), b('v2')],
          ],
        },
      },
    ]);
  });

  it('parses lists, sets, zsets with infinite scores, streams and oversized values', () => {
    const keys = ['l', 'st', 'z', 'x', 'big'].map(b);
    const out: KeyState[] = [];
    parseCall(
      keys,
      0,
      [
        b(''),
        b('r'),
        b('10'),
        b('20'),
        [b('list'), -1, [b('a'), b('a')]],
        [b('set'), -1, [b('m')]],
        [b('zset'), -1, [b('lo'), b('-inf'), b('mid'), b('2.5'), b('hi'), b('inf')]],
        [b('stream'), -1, b('')],
        [b('string'), -1, b(''), 9_000_000],
      ],
      20,
      (i) => 10n + BigInt(i),
      out,
    );
    expect(out.map((s) => s.value)).toEqual([
      { type: 'list', items: [b('a'), b('a')] },
      { type: 'set', members: [b('m')] },
      {
        type: 'zset',
        members: [
          [b('lo'), -Infinity],
          [b('mid'), 2.5],
          [b('hi'), Infinity],
        ],
      },
      null,
      null,
    ]);
    expect(out.map((s) => s.version)).toEqual([10n, 11n, 12n, 13n, 14n]);
    expect(out[4]).toMatchObject({ type: 'string', oversizedBytes: 9_000_000 });
    expect(out[3]).not.toHaveProperty('oversizedBytes');
  });
});
