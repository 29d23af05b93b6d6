import { readPrimaryLinkId, readReplication, readRunId } from '@cdc/redis';
import type Redis from 'ioredis';

/**
 * What a replica can do to capture without a keyspace event or a disconnect (measured on Redis 7.0, facts in
 * docs/architecture.md): restart (a new run id; it reloads or fully resyncs its data), be fully resynchronised
 * by its primary (its data replaced in place: a new link client id, while a partial resync keeps the old one),
 * switch history (a new replication ID: its primary failed over or restarted without persistence), or be
 * promoted (role master).
 */
export interface ReaderSample {
  readonly runId: string;
  readonly role: 'master' | 'slave';
  readonly replid: string;
  /** CLIENT LIST TYPE master's id; null while the link is down. */
  readonly linkId: string | null;
}

export type ReaderChange = 'replica-restart' | 'full-resync' | 'history-break' | 'promoted';

/** What the watcher remembers between samples: the last one, and the last link id it saw (a link may be down). */
export interface WatchState {
  readonly last: ReaderSample;
  readonly lastLinkId: string | null;
}

/** The changes between two samples of the same reader node (pure). */
export function readerChanges(
  state: WatchState,
  cur: ReaderSample,
): { changes: ReaderChange[]; state: WatchState } {
  const changes: ReaderChange[] = [];
  if (cur.runId !== state.last.runId) {
    changes.push('replica-restart');
    return { changes, state: { last: cur, lastLinkId: cur.linkId } };
  }
  if (cur.role === 'master' && state.last.role === 'slave') changes.push('promoted');
  if (cur.replid !== state.last.replid) changes.push('history-break');
  if (cur.linkId !== null && state.lastLinkId !== null && cur.linkId !== state.lastLinkId)
    changes.push('full-resync');
  return { changes, state: { last: cur, lastLinkId: cur.linkId ?? state.lastLinkId } };
}

export async function sampleReader(reader: Redis): Promise<ReaderSample> {
  const [runId, repl, linkId] = await Promise.all([
    readRunId(reader),
    readReplication(reader),
    readPrimaryLinkId(reader),
  ]);
  return { runId, role: repl.role, replid: repl.replid, linkId };
}

export interface ReplicaWatcherOptions {
  readonly intervalMs: number;
  /** No answer from the reader for this long: it is lost (reported again every such period while it lasts). */
  readonly lostAfterMs: number;
  readonly onChange: (change: ReaderChange, detail: Record<string, unknown>) => void;
  /** Every answered sample (the follower keeps trying to move while its reader is a primary). */
  readonly onSample?: (sample: ReaderSample) => void;
  /** `first`: the first report of this loss (the gap); later ones are reminders (and retries of a move). */
  readonly onLost: (silentMs: number, err: Error, first: boolean) => void;
}

/** Samples the reader every interval and reports what changed (each sample bounded: a dead node never hangs it). */
export class ReplicaWatcher {
  private state: WatchState | undefined;
  private timer: NodeJS.Timeout | undefined;
  private lastAnswer = Date.now();
  private lostReportedAt: number | null = null;
  private busy = false;

  constructor(
    private readonly reader: () => Redis,
    private readonly opts: ReplicaWatcherOptions,
  ) {}

  async start(): Promise<void> {
    await this.reset();
    this.timer = setInterval(() => void this.tick(), this.opts.intervalMs);
  }

  /** A new baseline: at start, and after the reader moved to another node. */
  async reset(): Promise<void> {
    const first = await sampleReader(this.reader());
    this.state = { last: first, lastLinkId: first.linkId };
    this.lastAnswer = Date.now();
    this.lostReportedAt = null;
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  private async tick(): Promise<void> {
    if (this.busy || !this.state) return;
    this.busy = true;
    let timer: NodeJS.Timeout | undefined;
    try {
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('no answer')), this.opts.intervalMs * 2);
      });
      const cur = await Promise.race([sampleReader(this.reader()), timeout]);
      this.lastAnswer = Date.now();
      this.lostReportedAt = null;
      const { changes, state } = readerChanges(this.state, cur);
      const before = this.state.last;
      this.state = state;
      for (const change of changes) this.opts.onChange(change, { before: { ...before }, after: { ...cur } });
      this.opts.onSample?.(cur);
    } catch (err) {
      const now = Date.now();
      const silentMs = now - this.lastAnswer;
      const due = this.lostReportedAt === null || now - this.lostReportedAt >= this.opts.lostAfterMs;
      if (silentMs >= this.opts.lostAfterMs && due) {
        const first = this.lostReportedAt === null;
        this.lostReportedAt = now;
        this.opts.onLost(silentMs, err as Error, first);
      }
    } finally {
      clearTimeout(timer);
      this.busy = false;
    }
  }
}
