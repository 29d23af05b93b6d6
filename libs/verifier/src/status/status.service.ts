import { Inject, Injectable, type OnApplicationShutdown } from '@nestjs/common';
import { CdcConfig } from '@cdc/config';
import { type Admin, createKafka, type Kafka } from '@cdc/kafka';
import { LOGGER, type Logger, settlesWithin } from '@cdc/observability';
import { type ControlClient, openControlClient } from '@cdc/redis';
import { StatusCollector, type StatusReport } from './status-collector';

/**
 * The readiness report inside a running app (the verifier's /status). Connects on the first request, so an app
 * that is never asked pays nothing, and keeps the connections for the next one.
 */
@Injectable()
export class StatusService implements OnApplicationShutdown {
  private collector: Promise<StatusCollector> | undefined;
  private redis: ControlClient | undefined;
  private admin: Admin | undefined;
  private readonly log: Logger;

  constructor(
    private readonly config: CdcConfig,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'status' });
  }

  async report(): Promise<StatusReport> {
    this.collector ??= this.connect().catch((err: unknown) => {
      this.collector = undefined; // try again on the next request
      throw err;
    });
    return (await this.collector).report();
  }

  private async connect(): Promise<StatusCollector> {
    const redisCfg = this.config.require('redis').redis;
    // Fail a request rather than hold it while Redis is away: the answer is NOT READY either way.
    this.redis = await openControlClient(redisCfg, 'cdc-status', { maxRetriesPerRequest: 2 }, (err) =>
      this.log.warn({ err: err.message }, 'redis connection error; reconnecting'),
    );
    let kafka: Kafka | undefined;
    if (this.config.kafka) {
      kafka = createKafka(this.config.kafka, this.log);
      this.admin = kafka.admin();
      await this.admin.connect();
    }
    return new StatusCollector(this.redis, kafka && this.admin && { kafka, admin: this.admin }, this.config);
  }

  async onApplicationShutdown(): Promise<void> {
    this.redis?.disconnect();
    await settlesWithin(this.admin?.disconnect(), 1_000); // Kafka may be gone
  }
}
