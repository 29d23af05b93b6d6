import { Command, CommandRunner, Option } from 'nest-commander';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { runSnapshot } from '@cdc/capture';
import { createLogger, Metrics } from '@cdc/observability';
import { resolveConfig } from '../endpoints';
import { fail, printJson } from '../output';
import { cdcHome } from '../paths';

interface SnapshotFlags {
  match?: string;
  rate?: number;
  resume?: boolean;
  json?: boolean;
}

@Command({
  name: 'snapshot',
  description:
    'Backfill the existing keyspace into the changes topic (origin=snapshot); safe during live capture, resumable',
})
export class SnapshotCommand extends CommandRunner {
  async run(_args: string[], flags: SnapshotFlags): Promise<void> {
    const { config } = await resolveConfig('reuse', flags.json);
    const logger = createLogger(flags.json ? 'error' : 'warn', 'cdc-snapshot', process.stderr);
    const checkpointFile = join(cdcHome(), 'snapshot', `${config.sourceId}.json`);
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const bar = new SingleBar({
      format: 'snapshot |{bar}| {value}/{total} keys | {speed} keys/s | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
      stream: process.stderr,
    });
    const started = Date.now();
    let resumedFrom = 0;
    try {
      const summary = await runSnapshot(config, new Metrics({ defaultMetrics: false }), logger, {
        rate: flags.rate ?? 0,
        resume: flags.resume ?? false,
        checkpointFile,
        signal: abort.signal,
        ...(flags.match ? { match: flags.match } : {}),
        onStart: (expected, from) => {
          resumedFrom = from;
          if (!flags.json) {
            if (from > 0)
              process.stderr.write(`Resuming after ${from} keys (checkpoint ${checkpointFile}).\n`);
            bar.start(Math.max(expected, from), from, { speed: 0 });
          }
        },
        onProgress: (scanned) => {
          if (flags.json) return;
          const seconds = Math.max(0.001, (Date.now() - started) / 1000);
          // SCAN may return a key twice and DBSIZE moves under live traffic: let the total follow.
          if (scanned > bar.getTotal()) bar.setTotal(scanned);
          bar.update(scanned, { speed: Math.round((scanned - resumedFrom) / seconds) });
        },
      });
      bar.stop();
      const report = {
        ...summary,
        topic: config.topic,
        checkpointFile: summary.completed ? null : checkpointFile,
      };
      if (flags.json) return printJson(report);
      process.stdout.write(
        summary.completed
          ? `Snapshot done: ${summary.captured} keys captured to ${config.topic} in ${(summary.durationMs / 1000).toFixed(1)} s.\n`
          : `Snapshot stopped after ${summary.scanned} keys; continue with: npx cdc snapshot --resume${flags.match ? ` --match '${flags.match}'` : ''}\n`,
      );
      if (!summary.completed) process.exitCode = 130;
    } catch (err) {
      bar.stop();
      fail(`snapshot failed: ${(err as Error).message}. The checkpoint is kept: rerun with --resume.`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    }
  }

  @Option({ flags: '--match <glob>', description: 'only keys matching this SCAN MATCH pattern' })
  parseMatch(value: string): string {
    return value;
  }

  @Option({
    flags: '--rate <keysPerSecond>',
    description: 'at most this many keys per second (default: unlimited)',
  })
  parseRate(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      fail(`--rate must be a whole number of keys per second, not "${value}"`, 64);
    return n;
  }

  @Option({
    flags: '--resume',
    description: 'continue from the checkpoint of a run that was stopped or killed',
  })
  parseResume(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print a JSON summary only' })
  parseJson(): boolean {
    return true;
  }
}
