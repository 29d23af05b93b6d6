import { NestFactory } from '@nestjs/core';
import { Command, CommandRunner, Option } from 'nest-commander';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { ApplierService } from '@cdc/applier';
import { CaptureService } from '@cdc/capture';
import { createLogger, NestPinoLogger } from '@cdc/observability';
import { openControlClient } from '@cdc/redis';
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
  async run(_args: string[], opts: RunOptions): Promise<void> {
    const { config, redisCliHint: hint } = await resolveConfig('start');
    const embedded = hint !== undefined;
    const tty = process.stdout.isTTY === true;
    await mkdir(cdcHome(), { recursive: true });
    const logFile = join(cdcHome(), 'run.log');
    // On a terminal the status line owns stdout and logs go to a file; otherwise logs go to stderr.
    const logger = createLogger(
      config.logLevel,
      'cdc-run',
      tty ? createWriteStream(logFile, { flags: 'a' }) : process.stderr,
    );
    logger.info({ config: config.redacted() }, 'starting capture, applier and verifier');

    const app = await NestFactory.create(RunModule.forRoot(config, logger), {
      logger: new NestPinoLogger(logger),
    }).catch((err: Error) => fail(`failed to start: ${err.message}${tty ? ` (details in ${logFile})` : ''}`));
    const port = config.httpPort ?? 8080;
    await app
      .listen(port, '127.0.0.1')
      .catch((err: Error) => fail(`cannot listen on :${port} (${err.message}); set HTTP_PORT`));

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
          mismatches: v.keys - v.matching - (v.byVerdict['in-flight'] ?? 0),
          applierStopped: stopped !== undefined,
        },
        hint,
      );
    };
    const ticker = setInterval(
      () => (tty ? process.stdout.write(`\r\x1b[2K${render()}`) : process.stdout.write(`${render()}\n`)),
      tty ? 1000 : 5000,
    );

    await new Promise<void>((resolve) => {
      const stop = (signal: string) => {
        process.stderr.write(`\n${signal}: draining and stopping...\n`);
        clearInterval(ticker);
        demo?.stop();
        resolve();
      };
      process.once('SIGINT', () => stop('SIGINT'));
      process.once('SIGTERM', () => stop('SIGTERM'));
    });
    await app.close();
    process.stderr.write(`Stopped. Last status: ${render()}\n`);
  }

  @Option({ flags: '--no-demo', description: 'do not run the demo writer on the embedded stack' })
  parseNoDemo(): boolean {
    return false;
  }
}
