import { type DynamicModule, Module } from '@nestjs/common';
import { APPLIER_OPTIONS, type ApplierOptions } from './applier-options';
import { ApplierService } from './applier.service';

/**
 * The applier as a Nest module. Import it as is for the standard applier (everything from the config), or
 * `ApplierModule.forRoot({ source, table, mapItem })` to build a consumer app with its own table shape: the
 * apply rules (versions, tombstones, DLQ, commit after durable writes, pause on failure) come with it.
 * Needs ConfigModule and ObservabilityModule (both global) in the importing app.
 */
@Module({ providers: [ApplierService], exports: [ApplierService] })
export class ApplierModule {
  static forRoot(options: ApplierOptions = {}): DynamicModule {
    return {
      module: ApplierModule,
      providers: [{ provide: APPLIER_OPTIONS, useValue: options }, ApplierService],
      exports: [ApplierService],
    };
  }
}
