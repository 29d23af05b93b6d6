import { INTERNAL_PREFIX } from './slot';

/**
 * The replicator's own state, kept in the source Redis under the reserved prefix (capture never captures it):
 * every component already has Redis, so capture, the verifier and `cdc status` / `cdc verify` share this state
 * without a control plane of their own. A FLUSHDB clears it too; each reader treats a missing key as "unknown".
 */
export const controlKeys = {
  /** String: epoch ms of capture's last heartbeat tick (written by the gap monitor). */
  alive: (source: string) => `${INTERNAL_PREFIX}alive:${source}`,
  /** Hash written by capture: GapRecord fields. */
  gaps: (source: string) => `${INTERNAL_PREFIX}gaps:${source}`,
  /** Hash shardId -> last checkpointed sequence number of the verifier's stream reader. */
  streamCheckpoints: (source: string, table: string) => `${INTERNAL_PREFIX}stream:${source}:${table}`,
  /** String PX lease: the stream reader instance that owns a shard (bounds readers per shard). */
  streamLease: (source: string, table: string, shardId: string) =>
    `${INTERNAL_PREFIX}lease:${source}:${table}:${shardId}`,
  /** String: JSON StreamParitySnapshot, refreshed by the running verifier. */
  streamParity: (source: string, table: string) => `${INTERNAL_PREFIX}parity:${source}:${table}`,
  /** String: JSON ScanSummary of the last complete `cdc verify` run. */
  lastScan: (source: string, table: string) => `${INTERNAL_PREFIX}verify:${source}:${table}`,
} as const;

/** Capture's gap bookkeeping (all epoch ms). `since` = when this capture run started listening. */
export interface GapRecord {
  readonly since: number;
  readonly lastGapAt: number | null;
  readonly lastGapCause: string | null;
  /** The slots the last gap covered (a cluster shard's, as `0-5460`), or `all`. */
  readonly lastGapSlots?: string | null;
  /** When the heal (reconciliation scan) of the last gap finished; null while it runs. */
  readonly lastHealedAt: number | null;
  readonly gaps: number;
}

/** The GapRecord hash as capture writes it (a null is an absent field); null when capture never ran here. */
export function parseGapRecord(hash: Readonly<Record<string, string>>): GapRecord | null {
  if (hash.since === undefined) return null;
  const num = (v: string | undefined) => (v === undefined || v === '' ? null : Number(v));
  return {
    since: Number(hash.since),
    lastGapAt: num(hash.lastGapAt),
    lastGapCause: hash.lastGapCause ?? null,
    lastGapSlots: hash.lastGapSlots ?? null,
    lastHealedAt: num(hash.lastHealedAt),
    gaps: Number(hash.gaps ?? 0),
  };
}

/** The verifier's per-record parity over a recent window, plus end-to-end lag. */
export interface StreamParitySnapshot {
  readonly at: number;
  readonly windowMs: number;
  /** Records per class in the window: match, in-flight, missing, extra, value, type, ttl, foreign. */
  readonly classes: Readonly<Record<string, number>>;
  readonly lagP50Ms: number | null;
  readonly lagP99Ms: number | null;
  /** Records being rechecked now: in flight until the pipeline passes them (absent from older verifiers). */
  readonly rechecking?: number;
}

/** What `cdc verify` leaves behind for `cdc status`. */
export interface ScanSummary {
  readonly finishedAt: number;
  readonly checked: number;
  /** Confirmed classes (after the in-flight recheck): match, in-flight, missing, extra, value, type, ttl, foreign. */
  readonly classes: Readonly<Record<string, number>>;
  /** match ÷ checked, 0..100 (in-flight keys are not proven: below 100 while any is left). */
  readonly parityPct: number;
  /** Confirmed mismatches (absent from summaries written before the field: count from classes). */
  readonly mismatches?: number;
  /** Keys the scan left in flight, neither proven nor disproven (absent from older summaries: see classes). */
  readonly inFlight?: number;
  readonly repaired: number;
}
