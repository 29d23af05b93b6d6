import { Controller, type DynamicModule, Get, Global, Header, Module } from '@nestjs/common';
import { HealthCheck, HealthCheckService, HealthIndicatorService, TerminusModule } from '@nestjs/terminus';
import type { Logger } from 'pino';
import { HealthRegistry } from './health';
import { createLogger } from './logger';
import { Metrics } from './metrics';

export const LOGGER = Symbol('cdc.logger');

@Controller()
class ObservabilityController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly indicators: HealthIndicatorService,
    private readonly registry: HealthRegistry,
    private readonly metrics: Metrics,
  ) {}

  @Get('health')
  @HealthCheck()
  check() {
    return this.health.check(
      this.registry.entries().map(([name, probe]) => async () => {
        const session = this.indicators.check(name);
        const result = await probe();
        return result.up ? session.up(result.detail ?? {}) : session.down(result.detail ?? {});
      }),
    );
  }

  @Get('metrics')
  @Header('Content-Type', 'text/plain; version=0.0.4')
  async scrape(): Promise<string> {
    return this.metrics.registry.metrics();
  }
}

export interface ObservabilityOptions {
  readonly logger?: Logger;
  readonly logLevel?: string;
  readonly metrics?: Metrics;
  /** Mount /health and /metrics (false for CLI commands that have no HTTP server). */
  readonly http?: boolean;
}

@Global()
@Module({})
export class ObservabilityModule {
  static forRoot(opts: ObservabilityOptions = {}): DynamicModule {
    const logger = opts.logger ?? createLogger(opts.logLevel ?? 'info');
    return {
      module: ObservabilityModule,
      imports: opts.http === false ? [] : [TerminusModule.forRoot({ logger: false })],
      controllers: opts.http === false ? [] : [ObservabilityController],
      providers: [
        { provide: LOGGER, useValue: logger },
        { provide: Metrics, useValue: opts.metrics ?? new Metrics() },
        HealthRegistry,
      ],
      exports: [LOGGER, Metrics, HealthRegistry],
    };
  }
}
