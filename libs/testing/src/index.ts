// Test helpers only: imported by specs and test/ suites, never by apps or other libs.
export * from './endpoints';
export * from './wait';
export * from './pipeline';
export * from './redis-server';
export * from './item-history';
export * from './replication';
export * from './fault-proxy';
export * from './dynamodb-local';
export * from './write-load';
export * from './child';
export * from './replica-set';
export * from './topic-events';
export * from './redis-cluster';
export * from './repair-scan';
