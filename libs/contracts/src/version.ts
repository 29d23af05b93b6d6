/**
 * Versions (design invariants 1 and 2). A version is a pair (epoch, position), compared lexicographically:
 * - position orders the states of one history: the primary's hybrid logical clock (µs) when capture reads on
 *   the primary, the replica's applied replication offset when it reads on a replica;
 * - epoch is raised (never lowered) whenever capture starts or the history may have broken (failover, full
 *   resync, a restart without persistence), so every state read under a later epoch orders after every state
 *   read under an earlier one, whatever positions the new history starts from (docs/architecture.md).
 *
 * In memory, in DynamoDB (`ver`, a Number of up to 38 digits) and in the condition `ver < :v`, the pair is ONE
 * integer, epoch × 10^19 + position: a position is below 2^63 (< 10^19), so integer order is pair order and
 * the decimal reads as the pair (the last 19 digits are the position). Versions of schema v1, which had no
 * epoch, are epoch 0 and order before every epoch a v2 capture raises.
 */
export const POSITION_RADIX = 10n ** 19n;
/** Both parts travel as Avro longs. */
const MAX_PART = 2n ** 63n - 1n;

export interface VersionParts {
  readonly epoch: bigint;
  readonly position: bigint;
}

export function composeVersion(epoch: bigint, position: bigint): bigint {
  if (epoch < 0n || epoch > MAX_PART || position < 0n || position > MAX_PART) {
    throw new RangeError(`version part out of range: epoch ${epoch}, position ${position} (each 0..2^63-1)`);
  }
  return epoch * POSITION_RADIX + position;
}

export function splitVersion(version: bigint): VersionParts {
  const parts = { epoch: version / POSITION_RADIX, position: version % POSITION_RADIX };
  if (version < 0n || parts.epoch > MAX_PART || parts.position > MAX_PART) {
    throw new RangeError(`not a version: ${version} (epoch × 10^19 + position, each 0..2^63-1)`);
  }
  return parts;
}

/**
 * Version rule (design invariant 2): an event may replace the stored state only when its version is strictly
 * greater. Equal = duplicate, smaller = stale; both are no-ops, never errors.
 */
export type VersionVerdict = 'newer' | 'duplicate' | 'stale';

export function compareVersion(incoming: bigint, stored: bigint | undefined): VersionVerdict {
  if (stored === undefined || incoming > stored) return 'newer';
  return incoming === stored ? 'duplicate' : 'stale';
}

/** Keeps the event with the highest version per key: what a batch needs to write, nothing more. */
export function latestPerKey<T>(
  items: Iterable<T>,
  keyOf: (t: T) => string,
  versionOf: (t: T) => bigint,
): T[] {
  const best = new Map<string, T>();
  for (const item of items) {
    const k = keyOf(item);
    const current = best.get(k);
    if (current === undefined || versionOf(item) > versionOf(current)) best.set(k, item);
  }
  return [...best.values()];
}
