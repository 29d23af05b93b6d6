import { Module } from '@nestjs/common';
import { StatusService } from './status/status.service';
import { VerifierService } from './verifier.service';

/** Needs ConfigModule and ObservabilityModule (both global) in the importing app. */
@Module({ providers: [VerifierService, StatusService], exports: [VerifierService, StatusService] })
export class VerifierModule {}
