import { Module } from '@nestjs/common';
import { VerifierService } from './verifier.service';

/** Needs ConfigModule and ObservabilityModule (both global) in the importing app. */
@Module({ providers: [VerifierService], exports: [VerifierService] })
export class VerifierModule {}
