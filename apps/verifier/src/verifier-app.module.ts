import { type DynamicModule, Module } from '@nestjs/common';
import { VerifierModule } from '@cdc/verifier';
import { type CdcConfig, ConfigModule } from '@cdc/config';
import { type Logger, ObservabilityModule } from '@cdc/observability';
import { StatusController } from './status.controller';

@Module({})
export class VerifierAppModule {
  static forRoot(config: CdcConfig, logger: Logger): DynamicModule {
    return {
      module: VerifierAppModule,
      imports: [ConfigModule.forRoot(config), ObservabilityModule.forRoot({ logger }), VerifierModule],
      controllers: [StatusController],
    };
  }
}
