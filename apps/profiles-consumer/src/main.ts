import 'reflect-metadata';
import { runApp } from '@cdc/observability';
import { ProfilesConsumerModule } from './profiles-consumer.module';

/**
 * Example consumer app: a platform team's own table (`profiles`) fed from the same changes topic as the
 * standard applier, with its own consumer group and item shape. PROFILES_TABLE names the table.
 */
void runApp({
  name: 'profiles-consumer',
  defaultPort: 8090,
  needs: ['kafka'],
  module: (config, logger) =>
    ProfilesConsumerModule.forRoot(config, logger, config.profilesTable ?? `profiles_${config.sourceId}`),
});
