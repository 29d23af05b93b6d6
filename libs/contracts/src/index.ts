export * from './change-event';
export * from './codec';
export * from './dlq';
export * from './errors';
export * from './version';
export { rabinFingerprint64 } from './rabin';
export { WRITER_SCHEMAS } from './avro-types';
export * from './dlq-records';
