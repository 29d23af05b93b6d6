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
