import 'reflect-metadata';
import { dynamoStartupCheck } from '@cdc/dynamo';
import { kafkaStartupCheck } from '@cdc/kafka';
import { runApp } from '@cdc/observability';
import { ApplierAppModule } from './applier-app.module';

void runApp({
  name: 'cdc-applier',
  defaultPort: 8082,
  needs: ['kafka'],
  checks: [kafkaStartupCheck, dynamoStartupCheck()],
  module: (config, logger) => ApplierAppModule.forRoot(config, logger),
});
