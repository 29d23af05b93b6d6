import { type DynamicModule, Module } from '@nestjs/common';
import { ApplierModule } from '@cdc/applier';
import { type CdcConfig, ConfigModule } from '@cdc/config';
import { type Logger, ObservabilityModule } from '@cdc/observability';
import { profileItem } from './profile-item';

@Module({})
export class ProfilesConsumerModule {
  static forRoot(config: CdcConfig, logger: Logger, table: string): DynamicModule {
    return {
      module: ProfilesConsumerModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ logger }),
        ApplierModule.forRoot({ table, mapItem: profileItem }),
      ],
    };
  }
}
