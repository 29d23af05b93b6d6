import { Command, CommandRunner, Option } from 'nest-commander';
import { join } from 'node:path';
import { SingleBar } from 'cli-progress';
import { openCaptureWriter, RateLimiter } from '@cdc/capture';
import { type CdcConfig, ConfigError, type RedisConfig } from '@cdc/config';
import { createDynamoClient, describeTable } from '@cdc/dynamo';
import { type Admin, createKafka } from '@cdc/kafka';
import { createLogger, type Logger, Metrics } from '@cdc/observability';
import { openSourceAccess, type SourceAccess } from '@cdc/redis';
import {
  FileVerifyCheckpoints,
  formatSummary,
  inFlightAdvice,
  mismatchesOf,
  type ScanReport,
  sourceScan,
  VerifyResumeError,
} from '@cdc/verifier';
import { resolveConfig } from '../endpoints';
import { fail, printJson } from '../output';
import { cdcHome } from '../paths';
import { rebuildAdvice, type VerifyTarget, verifyExit, verifyTarget } from './verify-target';

interface VerifyFlags {
  segments?: number;
  rate?: number;
  match?: string;
  table?: string;
  repair?: boolean;
  resume?: boolean;
  json?: boolean;
}

interface Repairer {
  readonly repair: (keys: Buffer[]) => Promise<number>;
  readonly close: () => Promise<void>;
}

/** --repair re-captures keys with the capture pipeline itself (origin=repair): one writer path to the table. */
async function openRepairer(config: CdcConfig, source: SourceAccess, logger: Logger): Promise<Repairer> {
  const kafka = createKafka(config.require('kafka').kafka, logger);
  const metrics = new Metrics({ defaultMetrics: false });
  const { pipeline, close } = await openCaptureWriter(config, kafka, source.reader, metrics, logger);
  return { repair: (keys) => pipeline.capture(keys, 'repair'), close };
}

/** Whether the applier group has committed offsets on the topic (an applier feeds the table); null: unknown. */
async function applierCommits(admin: Admin | undefined, config: CdcConfig): Promise<boolean | null> {
  if (!admin) return null;
  try {
    const [offsets] = await admin.fetchOffsets({ groupId: config.applierGroup, topics: [config.topic] });
    return (offsets?.partitions ?? []).some((p) => BigInt(p.offset) >= 0n);
  } catch {
    return null;
  }
}

@Command({
  name: 'verify',
  description:
    'Two-sided scan (DynamoDB Scan by segment ⇄ Redis SCAN): parity per class; --repair re-captures mismatched keys through the log (live table only)',
})
export class VerifyCommand extends CommandRunner {
  async run(_args: string[], flags: VerifyFlags): Promise<void> {
    const { config } = await resolveConfig('reuse', flags.json);
    const needs: Array<'redis' | 'kafka'> = flags.repair ? ['redis', 'kafka'] : ['redis'];
    let redisCfg: RedisConfig;
    try {
      redisCfg = config.require(...needs).redis;
    } catch (err) {
      if (err instanceof ConfigError) fail(err.message, 78);
      throw err;
    }
    const logger = createLogger(flags.json ? 'error' : 'warn', 'cdc-verify', process.stderr);
    // Offsets only: which table the live applier feeds, and how far it has come (lag-aware recheck).
    let admin: Admin | undefined;
    let kafkaConnected = false;
    if (config.kafka) {
      admin = createKafka(config.kafka, logger).admin();
      // Unreachable: progress unknown, nothing confirmed (keys stay in flight, exit 3), and said so.
      await admin.connect().then(
        () => (kafkaConnected = true),
        (err: Error) =>
          process.stderr.write(
            `warning: Kafka at ${config.kafka?.brokers.join(',')} not reachable (${err.message}): the applier's ` +
              'progress is unknown, so no mismatch can be confirmed or ruled out (they stay in flight). ' +
              'Check KAFKA_BROKERS and that Kafka answers.\n',
          ),
      );
    }
    const target = verifyTarget({
      configTable: config.table,
      requested: flags.table,
      applierGroup: config.applierGroup,
      topic: config.topic,
      applierCommits: kafkaConnected ? await applierCommits(admin, config) : null,
    });
    if (flags.repair && target.live !== true) {
      await admin?.disconnect().catch(() => undefined);
      fail(`--repair refused: ${rebuildAdvice(target)}`, 64);
    }
    const checkpointFile = join(cdcHome(), 'verify', `${config.sourceId}-${target.table}.json`);
    const abort = new AbortController();
    const onSignal = () => abort.abort();
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    let source: SourceAccess | undefined;
    const dynamo = createDynamoClient(config.dynamo);
    const bar = new SingleBar({
      format:
        'verify |{bar}| {value}/{total} items+keys | {speed}/s | {mismatches} mismatches | ETA {eta_formatted}',
      hideCursor: true,
      etaBuffer: 50,
      stream: process.stderr,
    });
    let repairer: Repairer | undefined;
    try {
      // Keys are scanned and read where capture reads (REDIS_READ_FROM); the summary goes to the primary.
      source = await openSourceAccess(redisCfg, 'cdc-verify');
      const access = source;
      if (!(await describeTable(dynamo, target.table)))
        fail(
          `DynamoDB table "${target.table}" does not exist: nothing to verify. Start the applier (it creates the ` +
            `table), or name the table you mean with --table (or CDC_TABLE / CDC_SOURCE_ID).`,
        );
      if (flags.repair) repairer = await openRepairer(config, source, logger);
      const limiter = new RateLimiter(flags.rate ?? 0);
      const started = Date.now();
      let resumedAt = 0;
      // Lag-aware only where the live pipeline writes; a replay target is judged by the grace period alone.
      const scan = sourceScan(config, access, dynamo, {
        table: target.table,
        ...(admin ? { admin, kafkaConnected: () => kafkaConnected } : {}),
        live: target.live !== false,
      });
      const report = await scan.run({
        ...(flags.segments !== undefined ? { segments: flags.segments } : {}),
        ...(flags.match ? { match: flags.match } : {}),
        throttle: (units, signal) => limiter.take(units, signal),
        ...(repairer ? { repair: repairer.repair } : {}),
        checkpoints: new FileVerifyCheckpoints(checkpointFile),
        resume: flags.resume ?? false,
        signal: abort.signal,
        onStart: (expected, from) => {
          if (flags.json) return;
          resumedAt = from ? from.itemsScanned + from.keysScanned : 0;
          if (from)
            process.stderr.write(`Resuming after ${resumedAt} items+keys (checkpoint ${checkpointFile}).\n`);
          bar.start(Math.max(expected.items + expected.keys, resumedAt), resumedAt, {
            speed: 0,
            mismatches: 0,
          });
        },
        onProgress: (c) => {
          if (flags.json) return;
          const done = c.itemsScanned + c.keysScanned;
          const seconds = Math.max(0.001, (Date.now() - started) / 1000);
          // DBSIZE counts our own version keys and ItemCount is approximate: let the total follow.
          if (done > bar.getTotal()) bar.setTotal(done);
          bar.update(done, {
            speed: Math.round((done - resumedAt) / seconds),
            mismatches: mismatchesOf(c.classes),
          });
        },
      });
      if (report.completed) bar.setTotal(report.itemsScanned + report.keysScanned);
      bar.stop();
      this.print(report, flags, checkpointFile, config.topic, target);
      process.exitCode = verifyExit(report);
    } catch (err) {
      bar.stop();
      if (err instanceof VerifyResumeError) fail(`cannot resume: ${err.message}`, 64);
      fail(`verify failed: ${(err as Error).message}. The checkpoint is kept: rerun with --resume.`);
    } finally {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      await repairer?.close();
      await admin?.disconnect().catch(() => undefined);
      source?.close();
      dynamo.destroy();
    }
  }

  private print(
    report: ScanReport,
    flags: VerifyFlags,
    checkpointFile: string,
    topic: string,
    target: VerifyTarget,
  ): void {
    // Never advise a repair that would write elsewhere: a table the live applier does not feed is replayed.
    const advice =
      report.mismatches > 0 && !flags.repair
        ? target.live === false
          ? rebuildAdvice(target)
          : 'Fix them through the log with: npx cdc verify --repair'
        : report.completed && report.mismatches === 0 && report.inFlight > 0
          ? inFlightAdvice(report.inFlight)
          : null;
    if (flags.json)
      return printJson({
        ...report,
        checkpointFile: report.completed ? null : checkpointFile,
        target,
        advice,
      });
    process.stdout.write(formatSummary(report));
    if (!report.completed) {
      process.stdout.write(
        `\nStopped before the end; continue with: npx cdc verify --resume${flags.table ? ` --table ${flags.table}` : ''}${flags.match ? ` --match '${flags.match}'` : ''}${flags.repair ? ' --repair' : ''}\n`,
      );
    } else if (report.repaired > 0) {
      process.stdout.write(
        `\nThe repairs went to ${topic}; once the applier has applied them, run npx cdc verify again to confirm 100%.\n`,
      );
    } else if (advice) {
      process.stdout.write(`\n${advice}\n`);
    }
  }

  @Option({
    flags: '--segments <n>',
    description: 'DynamoDB parallel-scan segments, scanned concurrently (default 4)',
  })
  parseSegments(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 1 || n > 1_000_000)
      fail(`--segments must be a whole number from 1 to 1000000, not "${value}"`, 64);
    return n;
  }

  @Option({
    flags: '--rate <perSecond>',
    description: 'at most this many items+keys read per second, both sides together (default: unlimited)',
  })
  parseRate(value: string): number {
    const n = Number(value);
    if (!Number.isInteger(n) || n < 0)
      fail(`--rate must be a whole number of items+keys per second, not "${value}"`, 64);
    return n;
  }

  @Option({
    flags: '--table <name>',
    description:
      "check this table (e.g. a cdc replay --to-table target) instead of the live one; --repair only fixes the live pipeline's table",
  })
  parseTable(value: string): string {
    if (!/^[a-zA-Z0-9_.-]{3,255}$/.test(value))
      fail(`--table must be a DynamoDB table name (3-255 of a-z A-Z 0-9 _ . -), not "${value}"`, 64);
    return value;
  }

  @Option({ flags: '--match <glob>', description: 'only keys matching this SCAN MATCH pattern (both sides)' })
  parseMatch(value: string): string {
    return value;
  }

  @Option({
    flags: '--repair',
    description: 're-capture each confirmed mismatch through the log (tombstones for keys gone from Redis)',
  })
  parseRepair(): boolean {
    return true;
  }

  @Option({
    flags: '--resume',
    description: 'continue from the checkpoint of a run that was stopped or killed',
  })
  parseResume(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the JSON report only' })
  parseJson(): boolean {
    return true;
  }
}
