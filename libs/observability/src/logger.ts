import type { LoggerService } from '@nestjs/common';
import pino, { type Logger } from 'pino';

export type { Logger } from 'pino';

/**
 * Structured JSON logs (pino). Credentials that could reach a log line through an object are redacted by path;
 * config objects are logged through CdcConfig.redacted() in the first place.
 */
export function createLogger(level: string, name = 'cdc', destination?: pino.DestinationStream): Logger {
  return pino(
    {
      name,
      level,
      redact: { paths: ['*.password', '*.*.password', 'password', '*.secretAccessKey'], censor: '***' },
      base: { pid: process.pid },
    },
    destination,
  );
}

/** Routes Nest's own framework logs into the same pino logger. */
export class NestPinoLogger implements LoggerService {
  constructor(private readonly logger: Logger) {}
  log(message: unknown, context?: string): void {
    this.logger.info({ context }, String(message));
  }
  error(message: unknown, trace?: string, context?: string): void {
    this.logger.error({ context, trace }, String(message));
  }
  warn(message: unknown, context?: string): void {
    this.logger.warn({ context }, String(message));
  }
  debug(message: unknown, context?: string): void {
    this.logger.debug({ context }, String(message));
  }
  verbose(message: unknown, context?: string): void {
    this.logger.trace({ context }, String(message));
  }
}
