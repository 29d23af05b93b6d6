import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type { DynamoConfig } from '@cdc/config';

/**
 * Credentials always come from the SDK's default provider chain (env, profile, SSO, web identity, ECS/EC2
 * roles). Throttling is handled by the SDK's adaptive retry mode (client-side rate limiting on throttles):
 * https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html - no retry loop of our own.
 */
export function createDynamoClient(cfg: DynamoConfig, maxAttempts = 10): DynamoDBClient {
  return new DynamoDBClient({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    retryMode: 'adaptive',
    maxAttempts,
  });
}

export function createStreamsClient(cfg: DynamoConfig): DynamoDBStreamsClient {
  return new DynamoDBStreamsClient({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    retryMode: 'adaptive',
    maxAttempts: 10,
  });
}
