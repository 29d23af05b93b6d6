import 'reflect-metadata';
import { runApp } from '@cdc/observability';
import { ApplierAppModule } from './applier-app.module';

void runApp({
  name: 'cdc-applier',
  defaultPort: 8082,
  needs: ['kafka'],
  module: (config, logger) => ApplierAppModule.forRoot(config, logger),
});
