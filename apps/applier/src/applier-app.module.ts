import { type DynamicModule, Module } from '@nestjs/common';
import { ApplierModule } from '@cdc/applier';
import { type CdcConfig, ConfigModule } from '@cdc/config';
import { type Logger, ObservabilityModule } from '@cdc/observability';

@Module({})
export class ApplierAppModule {
  static forRoot(config: CdcConfig, logger: Logger): DynamicModule {
    return {
      module: ApplierAppModule,
      imports: [ConfigModule.forRoot(config), ObservabilityModule.forRoot({ logger }), ApplierModule],
    };
  }
}
