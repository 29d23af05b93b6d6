import { describe, expect, it } from 'vitest';
import { keyStateToEvent } from './to-event';

const ctx = { sourceId: 's', db: 0, event: 'hset', origin: 'live' as const };
const base = { key: Buffer.from('k'), version: 7n, expireAtMs: null, readAtMs: 1000 };

describe('keyStateToEvent', () => {
  it('turns an existing key into an UPSERT with its TTL', () => {
    const out = keyStateToEvent(
      { ...base, type: 'string', expireAtMs: 5000, value: { type: 'string', data: Buffer.from('v') } },
      ctx,
    );
    expect(out).toMatchObject({
      event: { op: 'UPSERT', version: 7n, expireAt: 5000, capturedAt: 1000, event: 'hset' },
    });
  });

  it('turns a missing key into a DELETE even if the event was a write', () => {
    expect(keyStateToEvent({ ...base, type: 'none', value: null }, ctx)).toMatchObject({
      event: { op: 'DELETE', value: null, expireAt: null },
    });
  });

  it('rejects streams with a reason', () => {
    expect(keyStateToEvent({ ...base, type: 'stream', value: null }, ctx)).toMatchObject({
      rejection: { code: 'UNSUPPORTED_TYPE' },
    });
  });

  it('rejects a value over the size guard instead of deleting it', () => {
    const out = keyStateToEvent({ ...base, type: 'hash', value: null, oversizedBytes: 9_000_000 }, ctx);
    expect(out).toEqual({ rejection: { code: 'VALUE_TOO_LARGE', reason: 'hash value of ~9000000 bytes' } });
  });
});
