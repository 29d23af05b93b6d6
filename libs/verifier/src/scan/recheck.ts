import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Item, keyToPk, type ParityClass, type RedisState } from '@cdc/parity';
import type { KeyReader } from '@cdc/redis';
import type { Verdict } from '../parity-ledger';
import { check, safeState } from '../record-check';
import { batchGetItems } from './table-reads';

/** A key that did not match at first look, with the item version seen then (null: no item, or no `ver`). */
export interface Suspect {
  readonly key: Buffer;
  readonly pk: string;
  readonly firstVersion: bigint | null;
}

/**
 * The recheck rule (same as the streaming verifier's): a key that matches now is a match; a key whose item
 * version moved on since the first look was in flight; otherwise the mismatch is confirmed as its class now.
 */
export function confirmVerdict(
  firstVersion: bigint | null,
  now: ParityClass,
  nowVersion: bigint | null,
): Verdict {
  if (now === 'match') return 'match';
  if (nowVersion !== firstVersion) return 'in-flight';
  return now;
}

export function itemVersion(item: Item | null | undefined): bigint | null {
  const state = safeState(item ?? null);
  return state && state !== 'foreign' ? state.version : null;
}

export async function readRedis(reader: KeyReader, keys: readonly Buffer[]): Promise<RedisState[]> {
  const states = await reader.read(keys, false); // bump=false: read only, no version taken
  return states.map((s) => ({ value: s.value, expireAtMs: s.expireAtMs }));
}

/** Sleeps `ms`; false when aborted first. */
export function graceSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Mismatches are not believed at once: Redis may have moved on with the event still in flight. After the grace
 * period each suspect is read again, the item strongly consistent and Redis fresh, and decided by
 * confirmVerdict. Returns null when aborted during the grace period (the page is then not committed).
 */
export async function recheck(
  deps: {
    readonly dynamo: DynamoDBClient;
    readonly table: string;
    readonly reader: KeyReader;
    readonly writer: string;
    readonly graceMs: number;
  },
  suspects: readonly Suspect[],
  signal?: AbortSignal,
): Promise<Verdict[] | null> {
  if (suspects.length === 0) return [];
  if (!(await graceSleep(deps.graceMs, signal))) return null;
  const items = await batchGetItems(
    deps.dynamo,
    deps.table,
    suspects.map((s) => s.pk),
  );
  const redis = await readRedis(
    deps.reader,
    suspects.map((s) => s.key),
  );
  return suspects.map((s, i) => {
    const item = items.get(keyToPk(s.key)) ?? null;
    const now = check(safeState(item), redis[i] as RedisState, deps.writer);
    return confirmVerdict(s.firstVersion, now, itemVersion(item));
  });
}
