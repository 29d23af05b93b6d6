import { Controller, Get, HttpStatus, Res } from '@nestjs/common';
import { type StatusReport, StatusService } from '@cdc/verifier';
import type { Response } from 'express';

/** Cutover readiness for load balancers and scripts: 200 when READY, 503 when NOT READY; the report either way. */
@Controller()
export class StatusController {
  constructor(private readonly status: StatusService) {}

  @Get('status')
  async get(@Res({ passthrough: true }) res: Response): Promise<StatusReport | { error: string }> {
    try {
      const report = await this.status.report();
      res.status(report.verdict === 'READY' ? HttpStatus.OK : HttpStatus.SERVICE_UNAVAILABLE);
      return report;
    } catch (err) {
      res.status(HttpStatus.SERVICE_UNAVAILABLE);
      return { error: `status could not be collected: ${(err as Error).message}` };
    }
  }
}
