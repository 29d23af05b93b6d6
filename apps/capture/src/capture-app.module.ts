import { type DynamicModule, Module } from '@nestjs/common';
import { CaptureModule } from '@cdc/capture';
import { type CdcConfig, ConfigModule } from '@cdc/config';
import { type Logger, ObservabilityModule } from '@cdc/observability';

@Module({})
export class CaptureAppModule {
  static forRoot(config: CdcConfig, logger: Logger): DynamicModule {
    return {
      module: CaptureAppModule,
      imports: [ConfigModule.forRoot(config), ObservabilityModule.forRoot({ logger }), CaptureModule],
    };
  }
}
