import 'reflect-metadata';
import { dynamoStartupCheck } from '@cdc/dynamo';
import { runApp } from '@cdc/observability';
import { redisStartupCheck } from '@cdc/redis';
import { VerifierAppModule } from './verifier-app.module';

void runApp({
  name: 'cdc-verifier',
  defaultPort: 8083,
  needs: ['redis'],
  checks: [redisStartupCheck, dynamoStartupCheck()],
  module: (config, logger) => VerifierAppModule.forRoot(config, logger),
});
