import 'reflect-metadata';
import type { CdcConfig } from '@cdc/config';
import { dynamoStartupCheck } from '@cdc/dynamo';
import { kafkaStartupCheck } from '@cdc/kafka';
import { runApp } from '@cdc/observability';
import { ProfilesConsumerModule } from './profiles-consumer.module';

/**
 * Example consumer app: a platform team's own table (`profiles`) fed from the same changes topic as the
 * standard applier, with its own consumer group and item shape. PROFILES_TABLE names the table.
 */
const profilesTable = (config: CdcConfig): string => config.profilesTable ?? `profiles_${config.sourceId}`;

void runApp({
  name: 'profiles-consumer',
  defaultPort: 8090,
  needs: ['kafka'],
  checks: [kafkaStartupCheck, dynamoStartupCheck(profilesTable)],
  module: (config, logger) => ProfilesConsumerModule.forRoot(config, logger, profilesTable(config)),
});
