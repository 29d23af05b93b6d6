import { Module } from '@nestjs/common';
import { CaptureService } from './capture.service';

/** Needs ConfigModule and ObservabilityModule (both global) in the importing app. */
@Module({ providers: [CaptureService], exports: [CaptureService] })
export class CaptureModule {}
