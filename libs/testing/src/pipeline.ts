import { type DynamicModule, type INestApplicationContext, Module, type Type } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { type CdcConfig, ConfigModule } from '@cdc/config';
import { createLogger, Metrics, ObservabilityModule } from '@cdc/observability';

@Module({})
class TestPipelineModule {
  static with(config: CdcConfig, metrics: Metrics, modules: Type[]): DynamicModule {
    return {
      module: TestPipelineModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ logger: createLogger(config.logLevel, 'test'), metrics, http: false }),
        ...modules,
      ],
    };
  }
}

/** Boots real pipeline modules (capture, applier, verifier...) in-process against the real engines. */
export async function bootPipeline(
  config: CdcConfig,
  modules: Type[],
): Promise<{ app: INestApplicationContext; metrics: Metrics }> {
  const metrics = new Metrics({ defaultMetrics: false });
  const app = await NestFactory.createApplicationContext(TestPipelineModule.with(config, metrics, modules), {
    logger: false,
  });
  await app.init();
  return { app, metrics };
}
