export * from './logger';
export * from './metrics';
export * from './health';
export * from './observability.module';
export * from './bootstrap';
export * from './recent-samples';
