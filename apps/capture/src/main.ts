import 'reflect-metadata';
import { runApp } from '@cdc/observability';
import { CaptureAppModule } from './capture-app.module';

void runApp({
  name: 'cdc-capture',
  defaultPort: 8081,
  needs: ['redis', 'kafka'],
  module: (config, logger) => CaptureAppModule.forRoot(config, logger),
});
