import { describe, expect, it } from 'vitest';
import { notCarried, readGuardBytes } from './carry-policy';

const limits = { maxEventBytes: 2048 };

describe('notCarried (the one policy capture and the verifier share)', () => {
  it('carries every other type whose event fits', () => {
    for (const type of ['string', 'hash', 'list', 'set', 'zset', 'none'] as const)
      expect(notCarried({ type }, { ...limits, encodedBytes: 2048 })).toBeNull();
  });

  it('leaves streams out whatever their size', () => {
    expect(notCarried({ type: 'stream' }, limits)).toMatchObject({ code: 'UNSUPPORTED_TYPE' });
  });

  it('leaves out a value over the read guard, and one whose encoded event is over the limit', () => {
    expect(notCarried({ type: 'hash', oversizedBytes: 9_000_000 }, limits)).toEqual({
      code: 'VALUE_TOO_LARGE',
      reason: 'hash value of ~9000000 bytes',
    });
    expect(notCarried({ type: 'string' }, { ...limits, encodedBytes: 2049 })).toEqual({
      code: 'VALUE_TOO_LARGE',
      reason: 'event of 2049 bytes > CDC_MAX_EVENT_BYTES (2048)',
    });
  });

  it('guards reads at four times the event limit', () => {
    expect(readGuardBytes(2048)).toBe(8192);
  });
});
