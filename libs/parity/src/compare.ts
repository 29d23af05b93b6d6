import type { RedisValue } from '@cdc/contracts';
import type { ItemState } from './item-layout';
import { sameValue } from './normalise';

/**
 * Parity classes (design: verifier). `in-flight` is not decided here: a mismatch becomes in-flight or confirmed
 * only after the verifier rechecks it past a grace period.
 */
export type ParityClass = 'match' | 'missing' | 'extra' | 'value' | 'type' | 'ttl' | 'foreign';

export interface RedisState {
  readonly value: RedisValue | null;
  /** Absolute epoch ms at which Redis expires the key, or null. */
  readonly expireAtMs: number | null;
}

/** TTLs are stored in whole seconds (DynamoDB TTL), so allow the rounding. */
const TTL_TOLERANCE_SECONDS = 1;

export function classify(item: ItemState | null, redis: RedisState, writer: string): ParityClass {
  if (item && !item.deleted && item.writer !== writer) return 'foreign';
  const itemValue = item && !item.deleted ? item.value : null;
  if (redis.value === null) return itemValue === null ? 'match' : 'extra';
  if (itemValue === null) return 'missing';
  if (itemValue.type !== redis.value.type) return 'type';
  if (!sameValue(itemValue, redis.value)) return 'value';
  const redisTtl = redis.expireAtMs === null ? null : Math.ceil(redis.expireAtMs / 1000);
  const itemTtl = item?.expireAtSeconds ?? null;
  if ((redisTtl === null) !== (itemTtl === null)) return 'ttl';
  if (redisTtl !== null && itemTtl !== null && Math.abs(redisTtl - itemTtl) > TTL_TOLERANCE_SECONDS)
    return 'ttl';
  return 'match';
}
