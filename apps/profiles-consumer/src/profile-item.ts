import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ItemMapper } from '@cdc/applier';

/** The Redis keys this table cares about: `user:<id>` hashes. */
const USER_KEY = /^user:([^\s:]+)$/;
/** The hash fields that make a profile; anything else in the hash stays in Redis only. */
export const PROFILE_FIELDS = ['name', 'email', 'plan'] as const;

/**
 * A platform team's own table shape, built on the shared applier: one item per user, keyed by the bare id,
 * with the profile fields as top-level attributes (what the team's service will query after cutover) instead
 * of the generic `val` map. Versions, tombstones, the DLQ and commits all come from ApplierModule: the mapping
 * only says what an item looks like. A deleted user (or one whose key stopped being a hash) becomes a
 * tombstone, so a stale replay cannot resurrect it.
 */
export const profileItem: ItemMapper = (event, ctx) => {
  const id = USER_KEY.exec(event.key.toString('utf8'))?.[1];
  if (id === undefined) return null; // not a user: not for this table
  const item: Record<string, AttributeValue> = {
    pk: { S: id },
    updatedAt: { N: String(ctx.appliedAt) },
    writer: { S: ctx.writer },
  };
  if (event.value?.type !== 'hash') {
    item.deleted = { BOOL: true };
    item.expireAt = { N: String(Math.floor(ctx.appliedAt / 1000) + ctx.tombstoneTtlSeconds) };
    return item;
  }
  for (const [field, value] of event.value.fields) {
    const name = field.toString('utf8');
    if ((PROFILE_FIELDS as readonly string[]).includes(name)) item[name] = { S: value.toString('utf8') };
  }
  if (event.expireAt !== null) item.expireAt = { N: String(Math.ceil(event.expireAt / 1000)) };
  return item;
};
