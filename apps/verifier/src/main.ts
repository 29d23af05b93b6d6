import 'reflect-metadata';
import { runApp } from '@cdc/observability';
import { VerifierAppModule } from './verifier-app.module';

void runApp({
  name: 'cdc-verifier',
  defaultPort: 8083,
  needs: ['redis'],
  module: (config, logger) => VerifierAppModule.forRoot(config, logger),
});
