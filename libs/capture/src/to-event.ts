import type { ChangeEvent, Origin } from '@cdc/contracts';
import { type KeyState, type NotCarried, notCarried } from '@cdc/redis';

/**
 * A key capture will not carry, and why: it goes to the DLQ with this code, never silently away. The policy is
 * libs/redis carry-policy.ts, shared with the verifier (which counts these keys apart from parity).
 */
export type Rejection = NotCarried;

export type Captured = { readonly event: ChangeEvent } | { readonly rejection: Rejection };

type EventContext = { sourceId: string; db: number; event: string; origin: Origin };

/** A DELETE of the key at the read's version. */
export function deleteEvent(state: KeyState, ctx: EventContext): ChangeEvent {
  return {
    sourceId: ctx.sourceId,
    db: ctx.db,
    key: state.key,
    op: 'DELETE',
    value: null,
    version: state.version,
    expireAt: null,
    event: ctx.event,
    origin: ctx.origin,
    capturedAt: state.readAtMs,
  };
}

/**
 * A versioned read becomes a full-state event: a missing key is a DELETE (whatever the Redis event said, the
 * read is the truth). Streams and values over the size guard are rejected, not turned into deletes here; the
 * caller records the rejection and tombstones the key (docs/item-layout.md, "Keys capture does not carry").
 */
export function keyStateToEvent(state: KeyState, ctx: EventContext): Captured {
  // The encoded-size part of the policy is judged by the caller once the event is encoded.
  const rejection = notCarried(state, { maxEventBytes: Infinity });
  if (rejection) return { rejection };
  if (state.type === 'none' || state.value === null) return { event: deleteEvent(state, ctx) };
  return {
    event: {
      sourceId: ctx.sourceId,
      db: ctx.db,
      key: state.key,
      op: 'UPSERT',
      value: state.value,
      version: state.version,
      expireAt: state.expireAtMs,
      event: ctx.event,
      origin: ctx.origin,
      capturedAt: state.readAtMs,
    },
  };
}
