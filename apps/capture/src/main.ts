import 'reflect-metadata';
import { kafkaStartupCheck } from '@cdc/kafka';
import { runApp } from '@cdc/observability';
import { redisStartupCheck } from '@cdc/redis';
import { CaptureAppModule } from './capture-app.module';

void runApp({
  name: 'cdc-capture',
  defaultPort: 8081,
  needs: ['redis', 'kafka'],
  checks: [redisStartupCheck, kafkaStartupCheck],
  module: (config, logger) => CaptureAppModule.forRoot(config, logger),
});
