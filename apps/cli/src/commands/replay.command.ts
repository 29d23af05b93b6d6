import { Command, CommandRunner, Option } from 'nest-commander';
import { setMaxListeners } from 'node:events';
import { join } from 'node:path';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import {
  etaSeconds,
  type PartitionProgress,
  ReplayError,
  type ReplayStart,
  type ReplaySummary,
  runReplay,
} from '@cdc/applier';
import { RateLimiter } from '@cdc/capture';
import { TableMissingError } from '@cdc/dynamo';
import { createLogger, Metrics } from '@cdc/observability';
import { resolveConfig } from '../endpoints';
import { fail, printJson } from '../output';
import { cdcHome } from '../paths';

interface ReplayFlags {
  source?: string;
  fromOffset?: string;
  fromTimestamp?: number;
  fromBeginning?: boolean;
  toTable?: string;
  createTable?: boolean;
  rate?: number;
  restart?: boolean;
  dryRun?: boolean;
  json?: boolean;
}

@Command({
  name: 'replay',
  description:
    'Backfill a table from the changes topic up to the end offsets seen at the start; resumable (rerun the same command)',
})
export class ReplayCommand extends CommandRunner {
  async run(_args: string[], flags: ReplayFlags): Promise<void> {
    const start = chosenStart(flags);
    const { config } = await resolveConfig('reuse', flags.json);
    const logger = createLogger(flags.json ? 'error' : 'warn', 'cdc-replay', process.stderr);
    const abort = new AbortController();
    // Every rate-limited write in flight waits on the signal (up to CDC_APPLIER_CONCURRENCY at once).
    setMaxListeners(config.applierConcurrency + 10, abort.signal);
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    // The write rate is the CLI's concern: the runner only awaits beforeWrite.
    const limiter = new RateLimiter(flags.rate ?? 0);
    // Bars redraw in place, so only on a terminal; elsewhere (CI logs) the closing report says it all.
    const bars = new PartitionBars(!flags.json, process.stderr.isTTY === true);
    try {
      const summary = await runReplay(config, new Metrics({ defaultMetrics: false }), logger, {
        checkpointDir: join(cdcHome(), 'replay'),
        ...(flags.source ? { source: flags.source } : {}),
        ...(flags.toTable ? { table: flags.toTable } : {}),
        ...(flags.createTable ? { createTable: true } : {}),
        ...(start ? { start } : {}),
        restart: flags.restart ?? false,
        dryRun: flags.dryRun ?? false,
        signal: abort.signal,
        ...(flags.rate ? { beforeWrite: () => limiter.take(1, abort.signal) } : {}),
        onWait: (reason) => bars.line(`${reason}...`),
        onStart: ({ progress, resumed }) => {
          if (resumed) bars.line('Resuming the interrupted replay (same end offsets as its first start).');
          bars.start(progress);
        },
        onProgress: (progress) => bars.update(progress),
      });
      bars.stop();
      if (flags.json) printJson(summary);
      else process.stdout.write(closingReport(summary, flags));
      if (!summary.completed && !summary.dryRun) process.exitCode = 130;
    } catch (err) {
      bars.stop();
      const known = err instanceof ReplayError || err instanceof TableMissingError;
      fail(
        known
          ? err.message
          : `replay failed: ${(err as Error).message}. Progress is kept: rerun the same command to resume.`,
        known ? 78 : 1,
      );
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  @Option({
    flags: '--source <id>',
    description: 'source whose changes topic to replay (default: CDC_SOURCE_ID)',
  })
  parseSource(value: string): string {
    return value;
  }

  @Option({ flags: '--from-beginning', description: 'start at the oldest offset of every partition' })
  parseFromBeginning(): boolean {
    return true;
  }

  @Option({
    flags: '--from-offset <n>',
    description: 'start every partition at offset n (or its oldest offset, if later)',
  })
  parseFromOffset(value: string): string {
    if (!/^\d+$/.test(value)) fail(`--from-offset must be a whole offset, not "${value}"`, 64);
    return value;
  }

  @Option({
    flags: '--from-timestamp <time>',
    description: 'start at the first event at or after this time (ISO 8601, or epoch milliseconds)',
  })
  parseFromTimestamp(value: string): number {
    const ms = /^\d+$/.test(value) ? Number(value) : Date.parse(value);
    if (!Number.isFinite(ms))
      fail(`--from-timestamp must be ISO 8601 (2024-05-01T12:00:00Z) or epoch ms, not "${value}"`, 64);
    return ms;
  }

  @Option({ flags: '--to-table <name>', description: "write into this table instead of the source's own" })
  parseToTable(value: string): string {
    return value;
  }

  @Option({ flags: '--create-table', description: 'create the target table when it does not exist' })
  parseCreateTable(): boolean {
    return true;
  }

  @Option({ flags: '--rate <writesPerSecond>', description: 'at most this many DynamoDB writes per second' })
  parseRate(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1)
      fail(`--rate must be a whole number of writes per second, not "${value}"`, 64);
    return n;
  }

  @Option({ flags: '--restart', description: 'discard an interrupted replay of this table and start over' })
  parseRestart(): boolean {
    return true;
  }

  @Option({
    flags: '--dry-run',
    description: "decode and plan, read the table's versions, report what would be written; write nothing",
  })
  parseDryRun(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the closing report as JSON only' })
  parseJson(): boolean {
    return true;
  }
}

/** At most one --from-* (none = resume the interrupted replay). */
function chosenStart(flags: ReplayFlags): ReplayStart | undefined {
  const starts: ReplayStart[] = [
    ...(flags.fromBeginning ? [{ kind: 'beginning' } as const] : []),
    ...(flags.fromOffset !== undefined ? [{ kind: 'offset', offset: flags.fromOffset } as const] : []),
    ...(flags.fromTimestamp !== undefined
      ? [{ kind: 'timestamp', timestamp: flags.fromTimestamp } as const]
      : []),
  ];
  if (starts.length > 1)
    fail('--from-beginning, --from-offset and --from-timestamp are mutually exclusive: give one', 64);
  return starts[0];
}

function formatEta(seconds: number | null): string {
  if (seconds === null) return '-';
  const m = Math.floor(seconds / 60);
  return m > 0 ? `${m}m${String(seconds % 60).padStart(2, '0')}s` : `${seconds}s`;
}

/** One bar per partition (offsets done / to do, ETA at this run's rate) on stderr; nothing with --json. */
class PartitionBars {
  private multi: MultiBar | undefined;
  private readonly bars = new Map<number, SingleBar>();
  private readonly doneAtStart = new Map<number, number>();
  private started = 0;

  constructor(
    private readonly text: boolean,
    private readonly tty: boolean,
  ) {}

  line(text: string): void {
    if (!this.text) return;
    if (this.multi) this.multi.log(`${text}\n`);
    else process.stderr.write(`${text}\n`);
  }

  start(progress: readonly PartitionProgress[]): void {
    this.started = Date.now();
    for (const p of progress) this.doneAtStart.set(p.partition, p.done);
    if (!this.text || !this.tty) return;
    this.multi = new MultiBar(
      {
        format: '  partition {partition} [{bar}] {percentage}% | {value}/{total} offsets | ETA {eta}',
        stream: process.stderr,
        hideCursor: true,
        barsize: 30,
      },
      Presets.shades_classic,
    );
    for (const p of progress)
      this.bars.set(
        p.partition,
        this.multi.create(p.total, p.done, { partition: p.partition, eta: this.eta(p) }),
      );
  }

  update(progress: readonly PartitionProgress[]): void {
    for (const p of progress) this.bars.get(p.partition)?.update(p.done, { eta: this.eta(p) });
  }

  stop(): void {
    this.multi?.stop();
    this.multi = undefined;
  }

  private eta(p: PartitionProgress): string {
    return formatEta(etaSeconds(p, this.doneAtStart.get(p.partition) ?? 0, Date.now() - this.started));
  }
}

function closingReport(s: ReplaySummary, flags: ReplayFlags): string {
  const r = s.report;
  const verb = s.dryRun ? 'would apply' : 'applied';
  const lines = [
    `${s.dryRun ? 'Dry run of replay' : 'Replay'} ${s.topic} -> ${s.table} (${s.start}${s.resumed ? ', resumed' : ''}): ` +
      `${s.completed ? 'done' : 'stopped'} in ${(s.durationMs / 1000).toFixed(1)} s.`,
    `  ${verb} ${r.applied}, stale-skipped ${r.stale}, duplicates ${r.duplicate}, coalesced in batch ${r.coalesced}, ` +
      `filtered ${r.filtered}, Kafka tombstones ${r.kafkaTombstones}, ${s.dryRun ? 'would DLQ' : "DLQ'd"} ${r.deadLettered}.`,
  ];
  if (s.tableCreated) lines.push(`  Created table ${s.table}.`);
  if (!s.completed && !s.dryRun)
    lines.push(
      `  Resume with the same command (checkpoint ${s.checkpointFile}), e.g.: npx cdc replay` +
        `${flags.source ? ` --source ${flags.source}` : ''}${flags.toTable ? ` --to-table ${flags.toTable}` : ''}`,
    );
  return `${lines.join('\n')}\n`;
}
