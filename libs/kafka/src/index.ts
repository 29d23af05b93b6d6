export * from './client';
export * from './topics';
export * from './publisher';
export * from './batch-consumer';
export * from './group-commit';
export * from './topic-reader';
export * from './dlq-store';
export type { Kafka, Producer, Consumer, Admin, Message } from 'kafkajs';
export * from './inventory';
