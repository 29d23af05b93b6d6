import type { Logger, Metrics } from '@cdc/observability';
import { formatSlots, keyHashSlot } from '@cdc/redis';
import type { GapCause } from './gap-monitor';
import type { CheckpointStore, KeyspaceScanner, ScanResult } from './keyspace-scanner';

export interface ReconcilerOptions {
  readonly rate: number;
  readonly onProgress?: (scanned: number) => void;
  readonly onDone?: (result: ScanResult, causes: readonly GapCause[]) => void;
}

/**
 * What every heal reports, standalone or cluster: progress and re-captured keys as metrics, and the gap record
 * marked healed (`healed`: the gap monitor's, when one runs).
 */
export function healReporting(
  metrics: Metrics,
  log: Logger,
  healed: (result: ScanResult) => Promise<void> | undefined,
): Pick<ReconcilerOptions, 'onProgress' | 'onDone'> {
  return {
    onProgress: (scanned) => metrics.captureReconcileScanned.set(scanned),
    onDone: (result) => {
      metrics.captureReconcileKeys.inc(result.captured);
      metrics.captureReconcileRunning.set(0);
      healed(result)?.catch((err: Error) =>
        log.warn({ err: err.message }, 'could not record the healed gap'),
      );
    },
  };
}

/**
 * Heals gaps by re-capturing every existing key (a rate-limited, resumable SCAN through the normal capture
 * path, origin=repair). Gaps that arrive while a scan runs are folded into one more full scan afterwards: the
 * running scan may already have passed the keys the new gap touched. Keys deleted during a gap are not found
 * by a Redis scan; the verifier's two-sided scan heals those.
 */
/** What a heal scans: everything (null), or only the slots of a cluster gap. */
export type ScanScope = ReadonlySet<number> | null;

export class Reconciler {
  private running: Promise<void> | undefined;
  private queued: Array<{ cause: GapCause; slots?: readonly number[] }> = [];
  private readonly abort = new AbortController();
  private readonly scannerFor: (scope: ScanScope) => KeyspaceScanner;

  /** `scanner`: one for everything, or (a cluster) one per scope, over the shards that serve its slots. */
  constructor(
    scanner: KeyspaceScanner | ((scope: ScanScope) => KeyspaceScanner),
    private readonly checkpoints: CheckpointStore,
    private readonly logger: Logger,
    private readonly opts: ReconcilerOptions,
  ) {
    this.scannerFor = typeof scanner === 'function' ? scanner : () => scanner;
  }

  get active(): boolean {
    return this.running !== undefined;
  }

  /** Resumes a scan a previous capture process left unfinished. */
  async resumeIfInterrupted(): Promise<void> {
    const checkpoint = await this.checkpoints.load();
    if (checkpoint) {
      this.logger.warn({ scanned: checkpoint.scanned }, 'resuming an interrupted reconciliation scan');
      this.request('downtime', checkpoint.cursor);
    }
  }

  /** A heal of `slots` only (a cluster shard's gap), or of everything. */
  request(cause: GapCause, resumeCursor?: string, slots?: readonly number[]): void {
    this.queued.push(slots ? { cause, slots } : { cause });
    this.running ??= this.loop(resumeCursor).finally(() => (this.running = undefined));
  }

  private async loop(resumeCursor?: string): Promise<void> {
    let resume = resumeCursor !== undefined ? await this.checkpoints.load() : null;
    while (this.queued.length > 0 && !this.abort.signal.aborted) {
      const batch = this.queued;
      this.queued = [];
      const causes = [...new Set(batch.map((q) => q.cause))];
      // Gaps arriving meanwhile fold into one scan: of everything if any of them needs it, else of their slots.
      const scope: ScanScope =
        resume || batch.some((q) => !q.slots) ? null : new Set(batch.flatMap((q) => q.slots ?? []));
      this.logger.warn(
        {
          causes,
          resumeFrom: resume?.cursor,
          slots: scope ? formatSlots([...scope].sort((a, b) => a - b)) : 'all',
        },
        'reconciliation scan started',
      );
      try {
        const result = await this.scannerFor(scope).run({
          ...(scope ? { filter: (key: Buffer) => scope.has(keyHashSlot(key)) } : {}),
          rate: this.opts.rate,
          resumeFrom: resume,
          // A heal restarts on whatever server capture reads now: a cursor of another one would skip keys.
          onOtherNode: 'restart',
          signal: this.abort.signal,
          onProgress: (p) => this.opts.onProgress?.(p.scanned),
        });
        this.opts.onDone?.(result, causes);
        this.logger.warn(
          { causes, ...result },
          result.completed ? 'reconciliation scan done' : 'reconciliation scan stopped',
        );
      } catch (err) {
        this.logger.error({ err, causes }, 'reconciliation scan failed; will retry');
        this.queued.push(...batch);
        await new Promise((r) => setTimeout(r, 1000));
      }
      resume = null;
    }
  }

  /** Stops at the next batch; the checkpoint stays, so the next start resumes. */
  async stop(): Promise<void> {
    this.abort.abort();
    await this.running;
  }
}
