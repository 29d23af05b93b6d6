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
    // No request timeout by default in the SDK: a hung endpoint (a stopped process, a black-holed route) would
    // hang a batch forever. With one, it is an error like any other, retried and then a paused partition. (No
    // connection timeout: it also counts the wait for a free pooled socket, which fails busy clients for nothing.)
    // throwOnRequestTimeout: without it the SDK only logs a warning when the timeout passes and keeps waiting.
    requestHandler: { requestTimeout: 15_000, throwOnRequestTimeout: true },
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
