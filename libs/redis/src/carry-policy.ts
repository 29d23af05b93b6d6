import type { CaptureRejectionCode } from '@cdc/contracts';
import type { KeyState } from './versioned-read';

/**
 * Which keys the replicator leaves out by policy ("not carried"): the ONE place capture (which rejects them to
 * the DLQ and tombstones their items) and the verifier (which counts them apart from parity and never repairs
 * them) both ask. The codes are the DLQ's (libs/contracts dlq.ts, kind `not-carried`).
 */

/**
 * The versioned read does not even load a value over `CDC_MAX_EVENT_BYTES` × this (STRLEN, or MEMORY USAGE's
 * estimate for collections): a huge key never lands in memory. Values under it are judged by encoded size.
 */
export const READ_GUARD_FACTOR = 4;

/** The guard bytes to pass to KeyReader.read for a given event size limit. */
export function readGuardBytes(maxEventBytes: number): number {
  return maxEventBytes * READ_GUARD_FACTOR;
}

export interface NotCarried {
  readonly code: CaptureRejectionCode;
  readonly reason: string;
}

/**
 * Null when the key is carried. `encodedBytes` is the size of the key's encoded change event when the value
 * was read (under the guard); without it only the type and the guard are judged.
 */
export function notCarried(
  state: Pick<KeyState, 'type' | 'oversizedBytes'>,
  limits: { readonly maxEventBytes: number; readonly encodedBytes?: number },
): NotCarried | null {
  if (state.type === 'stream')
    return { code: 'UNSUPPORTED_TYPE', reason: 'Redis streams are not replicated (docs/event-schema.md)' };
  if (state.oversizedBytes !== undefined)
    return { code: 'VALUE_TOO_LARGE', reason: `${state.type} value of ~${state.oversizedBytes} bytes` };
  if (limits.encodedBytes !== undefined && limits.encodedBytes > limits.maxEventBytes) {
    return {
      code: 'VALUE_TOO_LARGE',
      reason: `event of ${limits.encodedBytes} bytes > CDC_MAX_EVENT_BYTES (${limits.maxEventBytes})`,
    };
  }
  return null;
}
