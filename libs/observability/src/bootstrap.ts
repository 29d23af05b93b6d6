import type { DynamicModule } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type CdcConfig, ConfigError, loadConfig } from '@cdc/config';
import { createLogger, type Logger, NestPinoLogger } from './logger';

export interface AppSpec {
  readonly name: string;
  readonly defaultPort: number;
  /** Endpoints this deployable cannot run without (checked before anything starts). */
  readonly needs: ReadonlyArray<'redis' | 'kafka'>;
  readonly module: (config: CdcConfig, logger: Logger) => DynamicModule;
}

/**
 * Boots one deployable: config parsed once (every bad variable named, then exit 78), JSON logs, /health and
 * /metrics over HTTP, and graceful shutdown on SIGTERM/SIGINT through Nest's lifecycle hooks.
 */
export async function runApp(spec: AppSpec): Promise<void> {
  let config: CdcConfig;
  try {
    config = loadConfig();
    config.require(...spec.needs);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${spec.name}: ${err.message}\n`);
      process.exit(78); // EX_CONFIG
    }
    throw err;
  }
  const logger = createLogger(config.logLevel, spec.name);
  logger.info({ config: config.redacted() }, 'starting');
  try {
    const app = await NestFactory.create(spec.module(config, logger), { logger: new NestPinoLogger(logger) });
    const port = config.httpPort ?? spec.defaultPort;
    await app.listen(port, '0.0.0.0');
    logger.info({ port }, `${spec.name} ready: /health and /metrics on :${port}`);
    // Our own signal handling rather than enableShutdownHooks(): Nest re-raises the signal after closing, so the
    // process would die "by SIGTERM" even after a clean drain. Here a drained shutdown exits 0.
    for (const signal of ['SIGTERM', 'SIGINT'] as const) {
      process.once(signal, () => {
        logger.info({ signal }, 'shutting down: draining in-flight work');
        app.close().then(
          () => {
            logger.info('stopped');
            process.exit(0);
          },
          (err: unknown) => {
            logger.error({ err }, 'shutdown failed');
            process.exit(1);
          },
        );
      });
    }
  } catch (err) {
    logger.fatal({ err }, `${spec.name} failed to start: ${(err as Error).message}`);
    process.exit(1);
  }
}
