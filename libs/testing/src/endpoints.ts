import { randomBytes } from 'node:crypto';
import { CdcConfig, loadConfig } from '@cdc/config';
import { inject } from 'vitest';

declare module 'vitest' {
  export interface ProvidedContext {
    endpoints: { redisUrl: string; kafkaBrokers: string; dynamodbEndpoint: string };
  }
}

/** Endpoints provided by test/setup/global-setup.ts (env, native stack or containers). */
export function engines(): { redisUrl: string; kafkaBrokers: string; dynamodbEndpoint: string } {
  const endpoints = inject('endpoints');
  if (!endpoints) throw new Error('no engine endpoints: run this suite through vitest with the global setup');
  return endpoints;
}

export function uniqueId(prefix: string): string {
  return `${prefix}_${Date.now().toString(36)}${randomBytes(3).toString('hex')}`;
}

/** A config for one test: its own source (so its own topic, table and group) on the shared engines. */
export function testConfig(overrides: Record<string, string> = {}): CdcConfig {
  const e = engines();
  process.env.AWS_ACCESS_KEY_ID ??= 'local';
  process.env.AWS_SECRET_ACCESS_KEY ??= 'local';
  return loadConfig({
    REDIS_URL: e.redisUrl,
    KAFKA_BROKERS: e.kafkaBrokers,
    DYNAMODB_ENDPOINT: e.dynamodbEndpoint,
    AWS_REGION: 'us-east-1',
    CDC_SOURCE_ID: uniqueId('t'),
    CDC_TOPIC_PARTITIONS: '3',
    CDC_VERIFIER_GRACE_MS: '500',
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? 'warn',
    ...overrides,
  });
}

export { CdcConfig };
