import { Module } from '@nestjs/common';
import { ApplierService } from './applier.service';

/** Needs ConfigModule and ObservabilityModule (both global) in the importing app. */
@Module({ providers: [ApplierService], exports: [ApplierService] })
export class ApplierModule {}
