import { JsonFile } from '@cdc/config';
import type { Item } from '@cdc/parity';
import type { ScanCounts } from './report';

/**
 * Where a verify run stands: each DynamoDB segment's LastEvaluatedKey, the Redis SCAN cursor, and the totals
 * of every page committed so far (a page is committed with its counts only after its mismatches were rechecked
 * and repaired, so a killed run never loses or double-counts a page).
 */
export interface VerifyCheckpoint {
  readonly table: string;
  readonly match: string | null;
  readonly segments: number;
  readonly startedAt: number;
  readonly dynamo: ReadonlyArray<{ readonly lastKey: Item | null; readonly done: boolean }>;
  /**
   * `node`: the run id of the server the cursor belongs to (a SCAN cursor means nothing on another one);
   * `nodeIndex`: which of the scanned nodes (a cluster's shards, in slot order) it is on.
   */
  readonly redis: {
    readonly cursor: string;
    readonly done: boolean;
    readonly node?: string;
    readonly nodeIndex?: number;
  };
  readonly counts: ScanCounts;
}

export interface VerifyCheckpointStore {
  load(): Promise<VerifyCheckpoint | null>;
  save(checkpoint: VerifyCheckpoint): Promise<void>;
  clear(): Promise<void>;
}

/** Why a checkpoint cannot be resumed with these options (the fix named), or null when it can. */
export function resumeProblem(
  cp: VerifyCheckpoint,
  opts: { table: string; match: string | null; segments?: number },
): string | null {
  if (cp.table !== opts.table)
    return `the checkpoint is for table ${cp.table}, not ${opts.table}; run without --resume to start over`;
  if (cp.match !== opts.match)
    return `the checkpoint was taken with --match ${cp.match ?? '(none)'}; resume with the same pattern`;
  if (opts.segments !== undefined && opts.segments !== cp.segments)
    return `the checkpoint was taken with --segments ${cp.segments}; resume with the same number (or omit it)`;
  return null;
}

/** The CLI's checkpoint: one JSON file written atomically, so kill -9 never leaves a torn checkpoint. */
export class FileVerifyCheckpoints extends JsonFile<VerifyCheckpoint> implements VerifyCheckpointStore {}

/**
 * Segments commit concurrently; saves must not overlap (one temp file) and only the newest state matters. So
 * one save runs at a time and requests made meanwhile collapse into one more save of the latest state.
 */
export class LatestSaver {
  private pending: VerifyCheckpoint | undefined;
  private running: Promise<void> | undefined;

  constructor(private readonly store: VerifyCheckpointStore) {}

  /** `checkpoint` must be a snapshot (not mutated afterwards). */
  save(checkpoint: VerifyCheckpoint): void {
    this.pending = checkpoint;
    this.running ??= this.drain().finally(() => (this.running = undefined));
  }

  /** Resolves once the latest requested state is on disk (rejects if a save failed). */
  async flush(): Promise<void> {
    while (this.running) await this.running;
  }

  private async drain(): Promise<void> {
    while (this.pending) {
      const next = this.pending;
      this.pending = undefined;
      await this.store.save(next);
    }
  }
}
