import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join, relative, resolve } from 'node:path';
import { missingClasses, REQUIRED_EVENT_CLASSES } from '@cdc/redis';
import { StackError, stackDown } from '@cdc/stack';
import { type ApplierBenchResources, runApplierBench } from '../bench/applier-bench';
import { renderApplierSection, renderApplierSummary } from '../bench/applier-report';
import { type BenchResources, runCaptureBench } from '../bench/capture-bench';
import {
  captureSectionTitle,
  renderCaptureSection,
  renderCaptureSummary,
  upsertSection,
} from '../bench/capture-report';
import { runClusterCaptureBench } from '../bench/cluster-bench';
import { CLUSTER_SECTION, renderClusterSection, renderClusterSummary } from '../bench/cluster-report';
import { Progress } from '../bench/progress';
import { runVerifyBench, type VerifyBenchResources } from '../bench/verify-bench';
import { renderVerifySection, renderVerifySummary, verifyBenchCorrect } from '../bench/verify-report';
import { fail, printJson } from '../output';
import { cdcHome } from '../paths';

interface BenchCaptureOptions {
  duration?: number;
  clients?: number;
  keys?: number;
  pairs?: number;
  burstKeys?: number;
  valueBytes?: number;
  rate?: number;
  pinPrimary?: boolean;
  captureBatchSize?: number;
  notifyFlags?: string;
  captureMain?: string;
  inProcess?: boolean;
  floor?: boolean;
  readFrom?: 'primary' | 'replica';
  redis?: 'single' | 'cluster';
  json?: boolean;
  out?: string;
  docs?: string | boolean;
}

function positiveInt(flag: string, value: string, max: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 1 || n > max)
    fail(`${flag} must be a whole number from 1 to ${max}, not "${value}"`, 64);
  return n;
}

/** How this run was invoked, as a user would retype it. */
function commandLine(): string {
  const script = process.argv[1] ? relative(process.cwd(), process.argv[1]) : '';
  const prefix = script === join('bin', 'cdc.js') ? 'node bin/cdc.js' : 'cdc';
  return [prefix, ...process.argv.slice(2)].join(' ');
}

/** Relative to the working directory when inside it, else absolute. */
function shortPath(file: string): string {
  const rel = relative(process.cwd(), file);
  return rel && !rel.startsWith('..') ? rel : file;
}

const timestamp = (d: Date): string =>
  d
    .toISOString()
    .replace(/\.\d+Z$/, 'Z')
    .replace(/:/g, '-');

/**
 * Runs one bench: Ctrl-C stops what it started (its child processes, the bench stack) and exits 130; then the
 * JSON report is written and its own section of the docs file replaced (the other sections are kept).
 */
async function runBench<R>(
  t: ReportTargets,
  spec: {
    readonly section: string;
    readonly resources: { readonly stackToStop?: string };
    readonly children: () => Iterable<{ kill(): unknown }>;
    readonly run: () => Promise<R>;
    readonly render: (report: R) => string;
  },
): Promise<R> {
  const killChildren = () => {
    for (const child of spec.children()) child.kill();
  };
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`\n${signal}: stopping what the ${spec.section.toLowerCase()} bench started...\n`);
    killChildren();
    const stack = spec.resources.stackToStop;
    void (stack ? stackDown({ stateDir: stack }) : Promise.resolve()).finally(() => process.exit(130));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', killChildren);
  let report: R;
  try {
    report = await spec
      .run()
      .catch((err: unknown) =>
        fail(
          err instanceof StackError
            ? err.message
            : `bench ${spec.section.toLowerCase()} failed: ${String(err)}`,
        ),
      );
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', killChildren);
  }
  await writeFile(t.reportFile, `${JSON.stringify(report, null, 2)}\n`);
  if (t.docs && existsSync(t.docs)) {
    writeFileSync(t.docs, upsertSection(readFileSync(t.docs, 'utf8'), spec.section, spec.render(report)));
    t.progress.line(`docs: updated the ${spec.section} section of ${shortPath(t.docs)}`);
  }
  return report;
}

interface ReportTargets {
  readonly json: boolean;
  readonly progress: Progress;
  readonly reportFile: string;
  readonly docs: string | undefined;
}

/** Where a bench run reports: --json (quiet progress), the JSON file, and the docs file whose section it replaces. */
async function reportTargets(
  bench: string,
  opts: { json?: boolean; out?: string; docs?: string | boolean },
): Promise<ReportTargets> {
  const json = opts.json === true;
  const reportFile = resolve(opts.out ?? join(cdcHome(), 'bench', `${bench}-${timestamp(new Date())}.json`));
  const explicitDocs = typeof opts.docs === 'string' ? opts.docs : undefined;
  const docs = opts.docs === false ? undefined : resolve(explicitDocs ?? join('docs', 'benchmarks.md'));
  if (docs && explicitDocs && !existsSync(docs)) fail(`--docs: ${docs} does not exist`, 64);
  await mkdir(dirname(reportFile), { recursive: true });
  return { json, progress: new Progress(!json), reportFile, docs };
}

@SubCommand({
  name: 'capture',
  description:
    'Writer throughput with and without capture (alternating), capture ceiling on a burst, and zero loss, ' +
    'on a local bench stack; writes a JSON report and the Capture section of docs/benchmarks.md',
})
export class BenchCaptureCommand extends CommandRunner {
  async run(_args: string[], opts: BenchCaptureOptions): Promise<void> {
    const targets = await reportTargets('capture', opts);
    const { json, progress, reportFile } = targets;

    const res: BenchResources = {};
    const readFrom = opts.readFrom ?? 'primary';
    if (opts.redis === 'cluster') return this.runCluster(targets, opts, readFrom, res);
    const report = await runBench(targets, {
      section: captureSectionTitle(readFrom),
      resources: res,
      children: () => [res.capture, res.subscriber].filter((c) => c !== undefined),
      run: () =>
        runCaptureBench(
          {
            durationS: opts.duration ?? 10,
            clients: opts.clients ?? 32,
            keys: opts.keys ?? 10_000,
            pairs: opts.pairs ?? 2,
            burstKeys: opts.burstKeys ?? 200_000,
            valueBytes: opts.valueBytes ?? 32,
            ...(opts.rate ? { rate: opts.rate } : {}),
            ...(opts.pinPrimary ? { pinPrimary: true } : {}),
            captureBatchSize: opts.captureBatchSize ?? 500,
            notifyFlags: opts.notifyFlags ?? REQUIRED_EVENT_CLASSES,
            ...(opts.captureMain ? { captureMain: resolve(opts.captureMain) } : {}),
            inProcess: opts.inProcess === true,
            floor: opts.floor !== false,
            readFrom,
            command: commandLine(),
            reportFile: shortPath(reportFile),
            captureLog: reportFile.replace(/\.json$/, '') + '.capture.log',
          },
          progress,
          res,
        ),
      render: renderCaptureSection,
    });
    if (json) printJson(report);
    else process.stdout.write(`\n${renderCaptureSummary(report)}`);
    const ok = report.loss.lost === 0 && report.loss.burstKeysMissing === 0 && report.ceiling.complete;
    if (!ok) process.exitCode = 1;
  }

  /** `--redis cluster`: the same questions on a local Redis Cluster (cluster-bench.ts). */
  private async runCluster(
    targets: ReportTargets,
    opts: BenchCaptureOptions,
    readFrom: 'primary' | 'replica',
    res: BenchResources,
  ): Promise<void> {
    const report = await runBench(targets, {
      section: CLUSTER_SECTION,
      resources: res,
      children: () => [res.capture].filter((c) => c !== undefined),
      run: () =>
        runClusterCaptureBench(
          {
            durationS: opts.duration ?? 10,
            clients: opts.clients ?? 32,
            keys: opts.keys ?? 10_000,
            ...(opts.rate ? { rate: opts.rate } : {}),
            pairs: opts.pairs ?? 2,
            burstKeys: opts.burstKeys ?? 200_000,
            valueBytes: opts.valueBytes ?? 32,
            captureBatchSize: opts.captureBatchSize ?? 500,
            notifyFlags: opts.notifyFlags ?? REQUIRED_EVENT_CLASSES,
            readFrom,
            inProcess: opts.inProcess === true,
            command: commandLine(),
            reportFile: shortPath(targets.reportFile),
            captureLog: targets.reportFile.replace(/\.json$/, '') + '.capture.log',
          },
          targets.progress,
          res,
        ),
      render: renderClusterSection,
    });
    if (targets.json) printJson(report);
    else process.stdout.write(`\n${renderClusterSummary(report)}`);
    const ok = report.loss.lost === 0 && report.loss.burstKeysMissing === 0 && report.ceiling.complete;
    if (!ok) process.exitCode = 1;
  }

  @Option({
    flags: '--redis <topology>',
    description:
      'single (default) or cluster: a local Redis Cluster (3 shards, a replica each), cluster clients writing ' +
      'over every slot, the primaries’ CPU per write with and without capture (--read-from applies per shard)',
  })
  parseRedis(value: string): 'single' | 'cluster' {
    if (value !== 'single' && value !== 'cluster')
      fail(`--redis must be single or cluster, not "${value}"`, 64);
    return value;
  }

  @Option({ flags: '--duration <seconds>', description: 'seconds per writer phase (default 10)' })
  parseDuration(value: string): number {
    return positiveInt('--duration', value, 3600);
  }

  @Option({
    flags: '--read-from <where>',
    description:
      'primary (default) or replica: a bench stack with a replica, capture on it, the primary’s CPU per write ' +
      'against the same topology with nothing listening, and capture on the primary in the same run',
  })
  parseReadFrom(value: string): 'primary' | 'replica' {
    if (value !== 'primary' && value !== 'replica')
      fail(`--read-from must be primary or replica, not "${value}"`, 64);
    return value;
  }

  @Option({
    flags: '--clients <n>',
    description: 'concurrent writer connections, each awaiting its SET (default 32)',
  })
  parseClients(value: string): number {
    return positiveInt('--clients', value, 1000);
  }

  @Option({ flags: '--keys <n>', description: 'writer keyspace size (default 10000)' })
  parseKeys(value: string): number {
    return positiveInt('--keys', value, 10_000_000);
  }

  @Option({
    flags: '--pairs <n>',
    description: 'A/N/B rounds (off, bare subscriber, capture), alternating (default 2)',
  })
  parsePairs(value: string): number {
    return positiveInt('--pairs', value, 50);
  }

  @Option({
    flags: '--no-floor',
    description: 'skip the N phases (notifications on, a bare subscriber that reads nothing: the floor)',
  })
  parseNoFloor(): boolean {
    return false;
  }

  @Option({
    flags: '--burst-keys <n>',
    description: 'keys pre-loaded and touched once for the ceiling (default 200000)',
  })
  parseBurstKeys(value: string): number {
    return positiveInt('--burst-keys', value, 10_000_000);
  }

  @Option({
    flags: '--rate <writes/s>',
    description:
      'pace the writer at this many writes/s in total in every phase (default: closed loop, as fast as Redis ' +
      'answers); at equal load, Redis CPU per write compares without the batching a saturated box changes',
  })
  parseRate(value: string): number {
    return positiveInt('--rate', value, 10_000_000);
  }

  @Option({
    flags: '--pin-primary',
    description:
      'pin the primary Redis alone to CPU 0 and every other process to the other CPUs (taskset), so its CPU ' +
      'per write is its own work, not the contention of a shared box',
  })
  parsePinPrimary(): boolean {
    return true;
  }

  @Option({ flags: '--value-bytes <n>', description: 'writer value size in bytes (default 32)' })
  parseValueBytes(value: string): number {
    return positiveInt('--value-bytes', value, 1_000_000);
  }

  @Option({
    flags: '--capture-batch-size <n>',
    description: 'CDC_CAPTURE_BATCH_SIZE of the capture under test (default 500, its own default)',
  })
  parseCaptureBatchSize(value: string): number {
    return positiveInt('--capture-batch-size', value, 10_000);
  }

  @Option({
    flags: '--notify-flags <flags>',
    description: `notify-keyspace-events while capture runs (default ${REQUIRED_EVENT_CLASSES}, capture's minimum; e.g. KEA)`,
  })
  parseNotifyFlags(value: string): string {
    const missing = missingClasses(value);
    if (missing) fail(`--notify-flags "${value}" lacks "${missing}", which capture needs`, 64);
    return value;
  }

  @Option({
    flags: '--capture-main <file>',
    description: 'capture build to run instead of dist/apps/capture/main.js (e.g. to compare two builds)',
  })
  parseCaptureMain(value: string): string {
    if (!existsSync(value)) fail(`--capture-main: ${value} does not exist`, 64);
    return value;
  }

  @Option({
    flags: '--in-process',
    description: 'run capture inside this process instead of a child `node dist/apps/capture/main.js`',
  })
  parseInProcess(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the JSON report on stdout (no progress output)' })
  parseJson(): boolean {
    return true;
  }

  @Option({
    flags: '--out <file>',
    description: 'JSON report path (default .cdc/bench/capture-<timestamp>.json)',
  })
  parseOut(value: string): string {
    return value;
  }

  @Option({
    flags: '--docs <file>',
    description:
      'Markdown file whose "## Capture" section is replaced (default docs/benchmarks.md, if present)',
  })
  parseDocs(value: string): string {
    return value;
  }

  @Option({ flags: '--no-docs', description: 'do not touch docs/benchmarks.md' })
  parseNoDocs(): boolean {
    return false;
  }
}

interface BenchApplierOptions {
  duration?: number;
  events?: number;
  concurrency?: number;
  pairs?: number;
  zipfKeys?: number;
  zipfS?: number;
  keepStack?: boolean;
  json?: boolean;
  out?: string;
  docs?: string | boolean;
}

@SubCommand({
  name: 'applier',
  description:
    'Applier events/s vs raw PutItem/s (alternating), writes per event and correctness under a zipfian key ' +
    'mix, end-to-end lag at half the ceiling, on a local bench stack; writes a JSON report and the Applier ' +
    'section of docs/benchmarks.md',
})
export class BenchApplierCommand extends CommandRunner {
  async run(_args: string[], opts: BenchApplierOptions): Promise<void> {
    const targets = await reportTargets('applier', opts);
    const { json, progress, reportFile } = targets;

    const res: ApplierBenchResources = { children: new Set() };
    const report = await runBench(targets, {
      section: 'Applier',
      resources: res,
      children: () => res.children,
      run: () =>
        runApplierBench(
          {
            events: opts.events ?? 20_000,
            concurrency: opts.concurrency ?? 16,
            pairs: opts.pairs ?? 3,
            zipfKeys: opts.zipfKeys ?? 10_000,
            zipfS: opts.zipfS ?? 1.1,
            durationS: opts.duration ?? 30,
            valueBytes: 32,
            keepStack: opts.keepStack === true,
            command: commandLine(),
            reportFile: shortPath(reportFile),
            logPrefix: reportFile.replace(/\.json$/, ''),
          },
          progress,
          res,
        ),
      render: renderApplierSection,
    });
    if (json) printJson(report);
    else process.stdout.write(`\n${renderApplierSummary(report)}`);
    // Speed targets are reported, not enforced; losing or corrupting data is a failure.
    if (!report.verdicts.complete) process.exitCode = 1;
  }

  @Option({
    flags: '--duration <seconds>',
    description: 'seconds of the lag phase, after its lead-in (default 30)',
  })
  parseDuration(value: string): number {
    return positiveInt('--duration', value, 3600);
  }

  @Option({
    flags: '--events <n>',
    description: 'events per raw and applier phase, and of the zipf phase (default 20000)',
  })
  parseEvents(value: string): number {
    return positiveInt('--events', value, 10_000_000);
  }

  @Option({
    flags: '--concurrency <n>',
    description: 'CDC_APPLIER_CONCURRENCY of the applier, and raw PutItem requests in flight (default 16)',
  })
  parseConcurrency(value: string): number {
    return positiveInt('--concurrency', value, 1_024);
  }

  @Option({
    flags: '--pairs <n>',
    description: 'raw/applier pairs, alternating (default 3; the ratio is their median)',
  })
  parsePairs(value: string): number {
    return positiveInt('--pairs', value, 50);
  }

  @Option({ flags: '--zipf-keys <n>', description: 'keyspace of the zipf phase (default 10000)' })
  parseZipfKeys(value: string): number {
    return positiveInt('--zipf-keys', value, 10_000_000);
  }

  @Option({ flags: '--zipf-s <s>', description: 'zipf exponent of the zipf phase (default 1.1)' })
  parseZipfS(value: string): number {
    const s = Number(value);
    if (!Number.isFinite(s) || s <= 0 || s > 10)
      fail(`--zipf-s must be a number above 0 and at most 10, not "${value}"`, 64);
    return s;
  }

  @Option({
    flags: '--keep-stack',
    description: 'leave the bench stack running afterwards (default: stop it if this run started it)',
  })
  parseKeepStack(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the JSON report on stdout (no progress output)' })
  parseJson(): boolean {
    return true;
  }

  @Option({
    flags: '--out <file>',
    description: 'JSON report path (default .cdc/bench/applier-<timestamp>.json)',
  })
  parseOut(value: string): string {
    return value;
  }

  @Option({
    flags: '--docs <file>',
    description:
      'Markdown file whose "## Applier" section is replaced (default docs/benchmarks.md, if present)',
  })
  parseDocs(value: string): string {
    return value;
  }

  @Option({ flags: '--no-docs', description: 'do not touch docs/benchmarks.md' })
  parseNoDocs(): boolean {
    return false;
  }
}

interface BenchVerifyOptions {
  keys?: number;
  segments?: number;
  rounds?: number;
  lagRate?: number;
  lagSeconds?: number;
  keepStack?: boolean;
  json?: boolean;
  out?: string;
  docs?: string | boolean;
}

@SubCommand({
  name: 'verify',
  description:
    'Two-sided scan items/s against a raw DynamoDB Scan and raw Redis reads of the same data (alternating), ' +
    "and the streaming verifier's lag from write to verdict, on a local bench stack (its Redis DB 1 is " +
    'flushed); writes a JSON report and the Verify section of docs/benchmarks.md',
})
export class BenchVerifyCommand extends CommandRunner {
  async run(_args: string[], opts: BenchVerifyOptions): Promise<void> {
    const targets = await reportTargets('verify', opts);
    const { json, progress, reportFile } = targets;

    const res: VerifyBenchResources = {};
    const report = await runBench(targets, {
      section: 'Verify',
      resources: res,
      children: () => [],
      run: () =>
        runVerifyBench(
          {
            keys: opts.keys ?? 50_000,
            segments: opts.segments ?? 4,
            rounds: opts.rounds ?? 2,
            lagPerS: opts.lagRate ?? 50,
            lagSeconds: opts.lagSeconds ?? 20,
            keepStack: opts.keepStack === true,
            command: commandLine(),
            reportFile: shortPath(reportFile),
          },
          progress,
          res,
        ),
      render: renderVerifySection,
    });
    if (json) printJson(report);
    else process.stdout.write(`\n${renderVerifySummary(report)}`);
    // Speed is reported, not enforced; a verifier that finds mismatches on equal data, or no verdicts, fails.
    if (!verifyBenchCorrect(report)) process.exitCode = 1;
  }

  @Option({
    flags: '--keys <n>',
    description: 'keys (and items) of the dataset, mixed types (default 50000)',
  })
  parseKeys(value: string): number {
    return positiveInt('--keys', value, 10_000_000);
  }

  @Option({
    flags: '--segments <n>',
    description: "parallel-scan segments of the verifier and of the raw passes (default 4, the verifier's)",
  })
  parseSegments(value: string): number {
    return positiveInt('--segments', value, 1_000);
  }

  @Option({ flags: '--rounds <n>', description: 'raw/verify rounds, alternating (default 2)' })
  parseRounds(value: string): number {
    return positiveInt('--rounds', value, 50);
  }

  @Option({ flags: '--lag-rate <perSecond>', description: 'records/s written in the lag phase (default 50)' })
  parseLagRate(value: string): number {
    return positiveInt('--lag-rate', value, 100_000);
  }

  @Option({ flags: '--lag-seconds <n>', description: 'seconds of writes in the lag phase (default 20)' })
  parseLagSeconds(value: string): number {
    return positiveInt('--lag-seconds', value, 3600);
  }

  @Option({
    flags: '--keep-stack',
    description: 'leave the bench stack running afterwards (default: stop it if this run started it)',
  })
  parseKeepStack(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the JSON report on stdout (no progress output)' })
  parseJson(): boolean {
    return true;
  }

  @Option({
    flags: '--out <file>',
    description: 'JSON report path (default .cdc/bench/verify-<timestamp>.json)',
  })
  parseOut(value: string): string {
    return value;
  }

  @Option({
    flags: '--docs <file>',
    description:
      'Markdown file whose "## Verify" section is replaced (default docs/benchmarks.md, if present)',
  })
  parseDocs(value: string): string {
    return value;
  }

  @Option({ flags: '--no-docs', description: 'do not touch docs/benchmarks.md' })
  parseNoDocs(): boolean {
    return false;
  }
}

@Command({
  name: 'bench',
  description:
    'Benchmarks that write a JSON report and a section of docs/benchmarks.md: capture, applier, verify',
  subCommands: [BenchCaptureCommand, BenchApplierCommand, BenchVerifyCommand],
})
export class BenchCommand extends CommandRunner {
  run(): Promise<void> {
    this.command.help();
  }
}
