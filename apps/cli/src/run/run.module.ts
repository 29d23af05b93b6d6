import { type DynamicModule, Module } from '@nestjs/common';
import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { type CdcConfig, ConfigModule } from '@cdc/config';
import { type Logger, ObservabilityModule } from '@cdc/observability';
import { VerifierModule } from '@cdc/verifier';

/** The three deployables in one process (`cdc run`): one config, one metrics registry, one HTTP port. */
@Module({})
export class RunModule {
  static forRoot(config: CdcConfig, logger: Logger): DynamicModule {
    return {
      module: RunModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ logger }),
        ApplierModule,
        CaptureModule,
        VerifierModule,
      ],
    };
  }
}
