import { describe, expect, it } from 'vitest';
import { crc16, isInternalKey, keyHashSlot, slotTag, versionKeyFor } from './slot';

describe('hash slots', () => {
  it('matches the Redis Cluster spec test vector', () => {
    // From the cluster spec: CRC16 of "123456789" is 0x31C3.
    expect(crc16(Buffer.from('123456789'))).toBe(0x31c3);
  });

  it('honours hash tags like the server', () => {
    expect(keyHashSlot(Buffer.from('{user1000}.following'))).toBe(
      keyHashSlot(Buffer.from('{user1000}.followers')),
    );
    expect(keyHashSlot(Buffer.from('foo{}{bar}'))).toBe(crc16(Buffer.from('foo{}{bar}')) % 16384);
    expect(keyHashSlot(Buffer.from('foo{{bar}}zap'))).toBe(crc16(Buffer.from('{bar')) % 16384);
  });

  it('finds a tag for every slot, and the version key shares the key slot', () => {
    for (const slot of [0, 1, 5000, 16383]) expect(keyHashSlot(Buffer.from(`{${slotTag(slot)}}`))).toBe(slot);
    for (const k of ['a', 'user:42', '{tagged}x', '\u00ff']) {
      const key = Buffer.from(k);
      expect(keyHashSlot(Buffer.from(versionKeyFor(key)))).toBe(keyHashSlot(key));
    }
  });

  it('recognises internal keys', () => {
    expect(isInternalKey(Buffer.from(versionKeyFor(Buffer.from('x'))))).toBe(true);
    expect(isInternalKey(Buffer.from('user:1'))).toBe(false);
  });
});
