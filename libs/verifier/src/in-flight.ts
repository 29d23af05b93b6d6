import { compareVersion } from '@cdc/contracts';
import type { ParityClass } from '@cdc/parity';

/**
 * When is a mismatch real? (docs/architecture.md, "Verifier: when a mismatch is confirmed".) A first-look
 * mismatch between an item and Redis is either a write the pipeline has not delivered yet, or a real one. It is
 * real only when the pipeline has provably passed the moment it was seen and the item still did not move:
 * - capture, if it is running, was alive and gap-free after that moment and had the grace period to produce
 *   the change (a stopped capture has nothing in flight: a change it missed is a real mismatch now, which its
 *   downtime gap heals at the next start);
 * - the applier's group then committed past the key partition's end offset observed after that grace (the
 *   mark): every event capture produced for the key until then is applied;
 * - and a read taken after that (item strongly consistent, Redis fresh) still mismatches at the SAME item
 *   version. Any write delivered in between would have moved the version (then the newer state decides).
 * Everything else is in flight and looked at again later; past the limit it is reported as stuck, with the
 * lag figures, never silently confirmed nor silently kept for ever.
 */

/** A key partition's end offset (next offset to be written) observed at `at`. */
export interface Mark {
  readonly partition: number;
  readonly end: bigint;
  readonly at: number;
}

/** How far the pipeline has come for the key's partition, read before the latest look. */
export interface Progress {
  /** The applier group's committed offset (next to consume) on the key's partition; null: none yet. */
  readonly committed: bigint | null;
  /** Capture's last heartbeat (epoch ms); null: capture never ran for this source. */
  readonly captureAliveAt: number | null;
  /** Since when capture has had no unhealed gap; null: a gap is being healed now (or no record). */
  readonly captureGapFreeSince: number | null;
}

export interface Unknown {
  readonly unknown: string;
}

export interface SuspectState {
  /** The item version the first look saw (a stream record's, or a scanned item's); null: no item. */
  readonly firstVersion: bigint | null;
  /** When the mismatch was first seen (epoch ms of the Redis read). */
  readonly firstAt: number;
  /** The class and item version of the latest look (read after `progress` was). */
  readonly latest: { readonly class: ParityClass; readonly version: bigint | null };
  readonly mark: Mark | null;
  readonly progress: Progress | Unknown;
  readonly now: number;
  readonly graceMs: number;
  /** Capture counts as running while its heartbeat is this recent (readinessOptions' aliveWithinMs). */
  readonly captureAliveWithinMs: number;
  /** In flight longer than this: stuck (CDC_VERIFIER_IN_FLIGHT_LIMIT_MS). */
  readonly limitMs: number;
}

export type WaitingOn = 'capture' | 'applier' | 'mark' | 'progress';

export type Judgement =
  | { readonly kind: 'match' }
  /** The item moved on since the first look: the newer state has its own check. */
  | { readonly kind: 'superseded' }
  | { readonly kind: 'confirmed'; readonly class: ParityClass }
  /** Look again later; `mark`: take a mark (the partition's end offset) now first. */
  | { readonly kind: 'in-flight'; readonly waitingOn: WaitingOn; readonly detail: string }
  | { readonly kind: 'stuck'; readonly waitingOn: WaitingOn; readonly detail: string };

/** The same item version (or no item both times), judged by the one version rule. */
export function sameVersion(a: bigint | null, b: bigint | null): boolean {
  if (a === null || b === null) return a === b;
  return compareVersion(a, b) === 'duplicate';
}

export function judgeSuspect(s: SuspectState): Judgement {
  if (s.latest.class === 'match') return { kind: 'match' };
  if (!sameVersion(s.latest.version, s.firstVersion)) return { kind: 'superseded' };
  const wait = waitingFor(s);
  if (!wait) return { kind: 'confirmed', class: s.latest.class };
  const age = s.now - s.firstAt;
  if (age > s.limitMs) {
    return {
      kind: 'stuck',
      waitingOn: wait.on,
      detail: `in flight for ${Math.round(age / 1000)} s (limit ${Math.round(s.limitMs / 1000)} s): ${wait.detail}`,
    };
  }
  return { kind: 'in-flight', waitingOn: wait.on, detail: wait.detail };
}

/** What the pipeline has not passed yet; null when it has passed the first look. */
function waitingFor(s: SuspectState): { on: WaitingOn; detail: string } | null {
  const p = s.progress;
  if ('unknown' in p) return { on: 'progress', detail: `pipeline progress unknown: ${p.unknown}` };
  // A stopped capture has nothing in flight: what it missed is a gap its next start heals, a mismatch now.
  const running = p.captureAliveAt !== null && s.now - p.captureAliveAt <= s.captureAliveWithinMs;
  if (running && p.captureAliveAt < s.firstAt)
    return {
      on: 'capture',
      detail: `capture's last heartbeat (${iso(p.captureAliveAt)}) is older than the read (${iso(s.firstAt)})`,
    };
  if (running && p.captureGapFreeSince === null)
    return { on: 'capture', detail: 'capture is healing a gap (its reconciliation scan re-captures keys)' };
  // The mark must leave capture its grace after the read, and come after any gap healed since.
  const healedAt = running ? (p.captureGapFreeSince as number) : 0;
  const markFrom = Math.max(s.firstAt + s.graceMs, healedAt);
  if (!s.mark || s.mark.at < markFrom)
    return { on: 'mark', detail: `no end offset observed after ${iso(markFrom)} yet` };
  if (p.committed === null || p.committed < s.mark.end) {
    const at = p.committed === null ? 'nothing committed' : `committed ${p.committed}`;
    const behind = p.committed === null ? '' : `, ${s.mark.end - p.committed} behind`;
    return {
      on: 'applier',
      detail: `applier on partition ${s.mark.partition}: ${at}, needs ${s.mark.end}${behind}`,
    };
  }
  return null;
}

const iso = (ms: number) => new Date(ms).toISOString();
