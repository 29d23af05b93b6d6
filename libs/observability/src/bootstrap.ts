import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type CdcConfig, ConfigError, loadConfig } from '@cdc/config';
import { closeWithin, onFirstSignal, startApp } from './app-lifecycle';
import { createLogger, type Logger, NestPinoLogger } from './logger';
import { DependencyError, EXIT_CODES, type StartupCheck } from './startup';

export interface AppSpec {
  readonly name: string;
  readonly defaultPort: number;
  /** Endpoints this deployable cannot run without (checked before anything starts). */
  readonly needs: ReadonlyArray<'redis' | 'kafka'>;
  /** Its dependencies' checks, run in this order after the port is bound (the adapters' preflight.ts). */
  readonly checks: readonly StartupCheck[];
  readonly module: (config: CdcConfig, logger: Logger) => DynamicModule;
}

/**
 * Boots one deployable: config parsed once (every bad variable named, then exit 78), JSON logs, the HTTP port
 * bound, each dependency checked (a failure names it, then exit 69), the modules started, /health and /metrics
 * served; the first SIGTERM/SIGINT drains within CDC_SHUTDOWN_TIMEOUT_MS (docs/operations.md).
 */
export async function runApp(spec: AppSpec): Promise<void> {
  let config: CdcConfig;
  try {
    config = loadConfig();
    config.require(...spec.needs);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${spec.name}: ${err.message}\n`);
      process.exit(EXIT_CODES.config);
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, spec.name);
  logger.info({ config: config.redacted() }, 'starting');
  const port = config.httpPort ?? spec.defaultPort;
  let stopping = false;
  try {
    const app = await NestFactory.create(spec.module(config, logger), {
      logger: new NestPinoLogger(logger),
      forceCloseConnections: true, // a scraper's keep-alive connection must not hold the shutdown
    });
    // Our own signal handling rather than enableShutdownHooks(): Nest re-raises the signal after closing, so the
    // process would die "by SIGTERM" even after a clean drain. Here a drained shutdown exits 0.
    onFirstSignal((signal) => {
      stopping = true;
      logger.info({ signal, deadlineMs: config.shutdownTimeoutMs }, 'shutting down: draining in-flight work');
      void closeWithin(app, logger, config.shutdownTimeoutMs).then((code) => {
        if (code === 0) logger.info('stopped');
        process.exit(code);
      });
    });
    await startApp(app, { port, host: '0.0.0.0', checks: spec.checks, config, logger });
    if (!stopping) logger.info({ port }, `${spec.name} ready: /health and /metrics on :${port}`);
  } catch (err) {
    if (stopping) return; // a signal came first: the shutdown decides the exit status
    if (err instanceof DependencyError) {
      logger.fatal(
        { dependency: err.dependency, endpoint: err.endpoint, problem: err.problem, fix: err.fix },
        `${spec.name} cannot start: ${err.message}`,
      );
      process.exit(EXIT_CODES.unavailable);
    }
    logger.fatal({ err }, `${spec.name} failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}
