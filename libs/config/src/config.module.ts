import { type DynamicModule, Global, Module } from '@nestjs/common';
import { CdcConfig, loadConfig } from './config';

@Global()
@Module({})
export class ConfigModule {
  /** Provides CdcConfig to the whole app: the given one (CLI, tests) or the environment's. */
  static forRoot(config?: CdcConfig): DynamicModule {
    return {
      module: ConfigModule,
      providers: [{ provide: CdcConfig, useFactory: () => config ?? loadConfig() }],
      exports: [CdcConfig],
    };
  }
}
