import type { ChangeEvent, Origin } from '@cdc/contracts';
import type { KeyState } from '@cdc/redis';

/** A key capture will not carry, and why: it goes to the DLQ with this code, never silently away. */
export interface Rejection {
  readonly code: 'UNSUPPORTED_TYPE' | 'VALUE_TOO_LARGE';
  readonly reason: string;
}

export type Captured = { readonly event: ChangeEvent } | { readonly rejection: Rejection };

/**
 * A versioned read becomes a full-state event: a missing key is a DELETE (whatever the Redis event said, the
 * read is the truth). Streams and values over the size guard are rejected, not turned into deletes.
 */
export function keyStateToEvent(
  state: KeyState,
  ctx: { sourceId: string; db: number; event: string; origin: Origin },
): Captured {
  if (state.type === 'stream') {
    return {
      rejection: {
        code: 'UNSUPPORTED_TYPE',
        reason: 'Redis streams are not replicated (docs/event-schema.md)',
      },
    };
  }
  if (state.oversizedBytes !== undefined) {
    return {
      rejection: { code: 'VALUE_TOO_LARGE', reason: `${state.type} value of ~${state.oversizedBytes} bytes` },
    };
  }
  const base = {
    sourceId: ctx.sourceId,
    db: ctx.db,
    key: state.key,
    version: state.version,
    event: ctx.event,
    origin: ctx.origin,
    capturedAt: state.readAtMs,
  };
  if (state.type === 'none' || state.value === null) {
    return { event: { ...base, op: 'DELETE', value: null, expireAt: null } };
  }
  return { event: { ...base, op: 'UPSERT', value: state.value, expireAt: state.expireAtMs } };
}
