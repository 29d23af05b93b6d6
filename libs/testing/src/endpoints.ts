import { randomBytes } from 'node:crypto';
import { CdcConfig, childEnv, type EnvSettings, loadConfig, localAwsDefaults, settingsOf } from '@cdc/config';
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
  const { AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY } = localAwsDefaults();
  process.env.AWS_ACCESS_KEY_ID = String(AWS_ACCESS_KEY_ID);
  process.env.AWS_SECRET_ACCESS_KEY = String(AWS_SECRET_ACCESS_KEY);
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

/**
 * The environment of a deployable started as a child (`node dist/apps/<app>/main.js`) with `config`'s settings:
 * built from typed settings keyed by the schema's names, so a misspelt variable fails to compile.
 */
export function appEnv(config: CdcConfig, extra: EnvSettings = {}): NodeJS.ProcessEnv {
  return {
    ...childEnv({ ...settingsOf(config), ...localAwsDefaults(), ...extra }),
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true', // the SDK's own knob, not ours
  };
}

export { CdcConfig };
