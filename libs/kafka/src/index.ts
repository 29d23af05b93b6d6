export * from './client';
export * from './topics';
export * from './publisher';
export * from './batch-consumer';
export * from './group-commit';
export type { Kafka, Producer, Consumer, Admin, Message } from 'kafkajs';
export * from './kafka-log';
export * from './preflight';
