import type { ChangeEvent, RedisValue } from '@cdc/contracts';
import { describe, expect, it } from 'vitest';
import { profileItem } from './profile-item';

const ctx = { writer: 'w', appliedAt: 1_700_000_000_500, tombstoneTtlSeconds: 100 };
const b = (s: string) => Buffer.from(s);
const event = (key: string, value: RedisValue | null, expireAt: number | null = null): ChangeEvent => ({
  sourceId: 's',
  db: 0,
  key: b(key),
  op: value ? 'UPSERT' : 'DELETE',
  value,
  version: 7n,
  expireAt,
  event: value ? 'hset' : 'del',
  origin: 'live',
  capturedAt: 1,
});
const hash = (...pairs: Array<[string, string]>): RedisValue => ({
  type: 'hash',
  fields: pairs.map(([f, v]) => [b(f), b(v)] as const),
});

describe('profileItem', () => {
  it('maps a user hash to top-level profile attributes keyed by the bare id', () => {
    const item = profileItem(
      event('user:42', hash(['name', 'Ada'], ['email', 'ada@x.io'], ['secret', 's'])),
      ctx,
    );
    expect(item).toEqual({
      pk: { S: '42' },
      name: { S: 'Ada' },
      email: { S: 'ada@x.io' },
      updatedAt: { N: '1700000000500' },
      writer: { S: 'w' },
    });
  });

  it('carries the Redis TTL as the table TTL, rounded up to a whole second', () => {
    expect(profileItem(event('user:1', hash(['name', 'A']), 1_700_000_100_001), ctx)?.expireAt).toEqual({
      N: '1700000101',
    });
  });

  it('turns a deleted user, or a user key that is no longer a hash, into a tombstone with a TTL', () => {
    for (const e of [event('user:42', null), event('user:42', { type: 'string', data: b('x') })]) {
      expect(profileItem(e, ctx)).toMatchObject({
        pk: { S: '42' },
        deleted: { BOOL: true },
        expireAt: { N: '1700000100' },
      });
    }
  });

  it.each(['session:1', 'user:', 'user:1:settings', 'users:1'])('leaves %s out of the table', (key) => {
    expect(profileItem(event(key, hash(['name', 'x'])), ctx)).toBeNull();
  });
});
