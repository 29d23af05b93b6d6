import type { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Command, CommandRunner, Option } from 'nest-commander';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplierService } from '@cdc/applier';
import { CaptureService } from '@cdc/capture';
import { dynamoStartupCheck } from '@cdc/dynamo';
import { kafkaStartupCheck } from '@cdc/kafka';
import {
  closeWithin,
  createLogger,
  DependencyError,
  EXIT_CODES,
  type Logger,
  NestPinoLogger,
  onFirstSignal,
  startApp,
} from '@cdc/observability';
import { openControlClient, redisStartupCheck } from '@cdc/redis';
import { VerifierService } from '@cdc/verifier';
import { fail } from '../output';
import { resolveConfig } from '../endpoints';
import { cdcHome } from '../paths';
import { DemoWriter } from '../run/demo-writer';
import { RunModule } from '../run/run.module';
import { formatStatus } from '../run/status-line';

interface RunOptions {
  demo?: boolean;
}

@Command({
  name: 'run',
  description:
    'Run capture, applier and verifier in one process. With no endpoints configured, on an embedded local stack with a demo writer.',
})
export class RunCommand extends CommandRunner {
  private flushLog: () => Promise<void> = () => Promise.resolve();

  async run(_args: string[], opts: RunOptions): Promise<void> {
    const { config, redisCliHint: hint } = await resolveConfig('start');
    const embedded = hint !== undefined;
    const tty = process.stdout.isTTY === true;
    await mkdir(cdcHome(), { recursive: true });
    const logFile = join(cdcHome(), 'run.log');
    // On a terminal the status line owns stdout and logs go to a file; otherwise logs go to stderr.
    const logStream = tty ? createWriteStream(logFile, { flags: 'a' }) : undefined;
    const logger = createLogger(config.logLevel, 'cdc-run', logStream ?? process.stderr);
    // Before any exit: the file's buffered lines are written (stderr is synchronous on a pipe or a file).
    this.flushLog = () => new Promise<void>((resolve) => (logStream ? logStream.end(resolve) : resolve()));
    logger.info({ config: config.redacted() }, 'starting capture, applier and verifier');

    const app = await NestFactory.create(RunModule.forRoot(config, logger), {
      logger: new NestPinoLogger(logger),
      forceCloseConnections: true, // a scraper's keep-alive connection must not hold the shutdown
    }).catch((err: Error) => fail(`failed to start: ${err.message}${tty ? ` (details in ${logFile})` : ''}`));
    const port = config.httpPort ?? 8080;
    // Installed before the start: a Ctrl-C while a dependency is being waited for stops at once.
    let stopping = false;
    const signalled = new Promise<NodeJS.Signals>((resolve) =>
      onFirstSignal((signal) => {
        stopping = true;
        resolve(signal);
      }),
    );
    if (tty)
      process.stderr.write(
        `Checking Redis, Kafka and DynamoDB (each retried up to ${config.startupTimeoutMs / 1000} s; details in ${logFile})...\n`,
      );
    const starting = startApp(app, {
      port,
      host: '127.0.0.1',
      checks: [redisStartupCheck, kafkaStartupCheck, dynamoStartupCheck()],
      config,
      logger,
    }).then(
      () => undefined,
      async (err: Error) => {
        if (stopping) return; // a signal came first: the shutdown decides the exit status
        logger.fatal({ err }, `cannot start: ${err.message}`);
        await this.flushLog();
        if (err instanceof DependencyError) fail(err.message, EXIT_CODES.unavailable);
        fail(`failed to start: ${err.message}${tty ? ` (details in ${logFile})` : ''}`);
      },
    );
    const early = await Promise.race([starting, signalled]);
    if (early) await this.stop(app, logger, config.shutdownTimeoutMs, early, () => 'not started');

    let demo: DemoWriter | undefined;
    if (embedded && opts.demo !== false && config.redis) {
      demo = new DemoWriter(await openControlClient(config.redis, 'cdc-demo'));
      demo.start();
    }
    process.stderr.write(
      `Replicating ${config.redis ? 'Redis' : ''} -> ${config.topic} -> ${config.table}. ` +
        `/health and /metrics on http://127.0.0.1:${port}.${tty ? ` Logs: ${logFile}.` : ''}\n` +
        (hint
          ? `Write keys yourself: ${hint}   ${demo ? '(demo writer on; --no-demo turns it off)' : ''}\n`
          : '') +
        'Ctrl-C stops the replicator (the local stack keeps running: npx cdc stack down).\n',
    );

    const capture = app.get(CaptureService);
    const applier = app.get(ApplierService);
    const verifier = app.get(VerifierService);
    let toldStop = false;
    const render = () => {
      const v = verifier.stats;
      const stopped = applier.stats.stopped;
      // The failure policy stopped the applier: say why and the fix once on the terminal, not only in the log.
      if (stopped && !toldStop) {
        toldStop = true;
        process.stderr.write(`\napplier stopped: ${stopped.error}\n`);
      }
      return formatStatus(
        {
          captured: capture.stats.produced,
          pending: capture.stats.pending,
          applied: applier.stats.applied,
          lagP50Ms: applier.recentLagMs.quantile(0.5),
          lagP99Ms: applier.recentLagMs.quantile(0.99),
          parity: v.parity,
          keysVerified: v.keys,
          mismatches: v.mismatches, // confirmed only: not in flight, not carried, not stuck
          applierStopped: stopped !== undefined,
        },
        hint,
      );
    };
    const ticker = setInterval(
      () => (tty ? process.stdout.write(`\r\x1b[2K${render()}`) : process.stdout.write(`${render()}\n`)),
      tty ? 1000 : 5000,
    );

    const signal = await signalled;
    clearInterval(ticker);
    demo?.stop();
    await this.stop(app, logger, config.shutdownTimeoutMs, signal, render);
  }

  /** Drains within the deadline, reports how it ended, and exits: nothing still reconnecting keeps it alive. */
  private async stop(
    app: INestApplication,
    logger: Logger,
    timeoutMs: number,
    signal: NodeJS.Signals,
    status: () => string,
  ): Promise<never> {
    process.stderr.write(`\n${signal}: draining and stopping (at most ${timeoutMs / 1000} s)...\n`);
    logger.info({ signal, deadlineMs: timeoutMs }, 'shutting down: draining in-flight work');
    const code = await closeWithin(app, logger, timeoutMs);
    process.stderr.write(
      code === 0
        ? `Stopped. Last status: ${status()}\n`
        : code === EXIT_CODES.shutdownDeadline
          ? `Stopped at the ${timeoutMs / 1000} s deadline (CDC_SHUTDOWN_TIMEOUT_MS) with work still draining (exit ${code}; see the log). Last status: ${status()}\n`
          : `Stopped after a shutdown error (exit ${code}; see the log).\n`,
    );
    await this.flushLog();
    process.exit(code);
  }

  @Option({ flags: '--no-demo', description: 'do not run the demo writer on the embedded stack' })
  parseNoDemo(): boolean {
    return false;
  }
}
