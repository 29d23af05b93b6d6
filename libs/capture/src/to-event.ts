import type { ChangeEvent, Origin } from '@cdc/contracts';
import type { KeyState } from '@cdc/redis';

/**
 * A versioned read becomes a full-state event: a missing key is a DELETE (whatever the Redis event said, the
 * read is the truth). Streams are not carried yet: the caller rejects them loudly (null here).
 */
export function keyStateToEvent(
  state: KeyState,
  ctx: { sourceId: string; db: number; event: string; origin: Origin },
): ChangeEvent | null {
  if (state.type === 'stream') return null;
  const base = {
    sourceId: ctx.sourceId,
    db: ctx.db,
    key: state.key,
    version: state.version,
    event: ctx.event,
    origin: ctx.origin,
    capturedAt: state.readAtMs,
  };
  if (state.type === 'none' || state.value === null)
    return { ...base, op: 'DELETE', value: null, expireAt: null };
  return { ...base, op: 'UPSERT', value: state.value, expireAt: state.expireAtMs };
}
