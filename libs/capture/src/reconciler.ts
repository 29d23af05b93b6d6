import type { Logger } from '@cdc/observability';
import type { GapCause } from './gap-monitor';
import type { CheckpointStore, KeyspaceScanner, ScanResult } from './keyspace-scanner';

export interface ReconcilerOptions {
  readonly rate: number;
  readonly onProgress?: (scanned: number) => void;
  readonly onDone?: (result: ScanResult, causes: readonly GapCause[]) => void;
}

/**
 * Heals gaps by re-capturing every existing key (a rate-limited, resumable SCAN through the normal capture
 * path, origin=repair). Gaps that arrive while a scan runs are folded into one more full scan afterwards: the
 * running scan may already have passed the keys the new gap touched. Keys deleted during a gap are not found
 * by a Redis scan; the verifier's two-sided scan heals those.
 */
export class Reconciler {
  private running: Promise<void> | undefined;
  private queued: GapCause[] = [];
  private readonly abort = new AbortController();

  constructor(
    private readonly scanner: KeyspaceScanner,
    private readonly checkpoints: CheckpointStore,
    private readonly logger: Logger,
    private readonly opts: ReconcilerOptions,
  ) {}

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

  request(cause: GapCause, resumeCursor?: string): void {
    this.queued.push(cause);
    this.running ??= this.loop(resumeCursor).finally(() => (this.running = undefined));
  }

  private async loop(resumeCursor?: string): Promise<void> {
    let resume = resumeCursor !== undefined ? await this.checkpoints.load() : null;
    while (this.queued.length > 0 && !this.abort.signal.aborted) {
      const causes = [...new Set(this.queued)];
      this.queued = [];
      this.logger.warn({ causes, resumeFrom: resume?.cursor }, 'reconciliation scan started');
      try {
        const result = await this.scanner.run({
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
        this.queued.push(...causes);
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
