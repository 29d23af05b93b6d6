import { DescribeTableCommand, DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CdcConfig, DynamoConfig } from '@cdc/config';
import { DependencyError, type Logger, retryDependency, type StartupCheck } from '@cdc/observability';

const ATTEMPT_TIMEOUT_MS = 5_000;
const CREDENTIAL_ERRORS = new Set([
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);

/** Where requests go: DYNAMODB_ENDPOINT, or AWS's regional endpoint. */
export const dynamoEndpoint = (cfg: DynamoConfig): string =>
  cfg.endpoint ?? `https://dynamodb.${cfg.region}.amazonaws.com`;

/** What a failed DynamoDB call (or credential lookup) means and what to do (pure). */
export function dynamoProblem(
  err: unknown,
  cfg: DynamoConfig,
  table: string,
): { problem: string; fix: string; permanent: boolean } {
  const e = err as {
    name?: string;
    code?: string;
    message?: string;
    $metadata?: { httpStatusCode?: number };
  };
  const name = e.name ?? 'Error';
  const text = e.message ?? String(err);
  const local = cfg.endpoint !== undefined;
  if (name === 'CredentialsProviderError')
    return {
      problem: `no AWS credentials (${text})`,
      fix: local
        ? 'DynamoDB Local accepts any: export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local'
        : "give the process credentials through the AWS SDK's chain: AWS_ACCESS_KEY_ID and " +
          'AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or an IAM role (EKS service account, ECS task role, instance profile)',
      permanent: true,
    };
  if (CREDENTIAL_ERRORS.has(name) || /security token|signature/i.test(text))
    return {
      problem: `credentials rejected (${name}: ${text})`,
      fix: local
        ? 'DynamoDB Local accepts keys of letters and digits: export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local'
        : 'check which credentials the SDK picked up (aws sts get-caller-identity) and that they are current',
      permanent: true,
    };
  if (name === 'AccessDeniedException')
    return {
      problem: `not allowed to describe table "${table}" (${text})`,
      fix: "grant this process's role dynamodb:DescribeTable on the table (docs/operations.md: IAM)",
      permanent: true,
    };
  const code = e.code ?? '';
  if (code === 'ECONNREFUSED' || /ECONNREFUSED/.test(text))
    return {
      problem: `unreachable (${text})`,
      fix: local
        ? 'start it (`npx cdc stack up` runs DynamoDB Local) or point DYNAMODB_ENDPOINT at a running one'
        : 'check the network path to AWS (proxy, VPC endpoint)',
      permanent: false,
    };
  if (code === 'ENOTFOUND' || code === 'EAI_AGAIN' || /ENOTFOUND|EAI_AGAIN/.test(text))
    return {
      problem: `host not found (${text})`,
      fix: local ? 'check the host name in DYNAMODB_ENDPOINT' : 'check AWS_REGION and DNS',
      permanent: false,
    };
  if (name === 'TimeoutError' || /timed? ?out|ETIMEDOUT/i.test(text))
    return {
      problem: `no answer within ${ATTEMPT_TIMEOUT_MS} ms (${text})`,
      fix: local
        ? 'check that DYNAMODB_ENDPOINT is DynamoDB Local and that it runs'
        : 'check the network path to AWS (proxy, VPC endpoint, security groups)',
      permanent: false,
    };
  const status = e.$metadata?.httpStatusCode;
  if (status !== undefined && (name === 'Unknown' || name === 'UnknownError' || /^Unknown/.test(text)))
    return {
      problem: `an HTTP ${status} answer that is not DynamoDB's (${name}: ${text})`,
      fix: local
        ? 'check that DYNAMODB_ENDPOINT is DynamoDB Local (its port)'
        : 'check the proxy between here and AWS',
      permanent: true,
    };
  if (name === 'UnknownEndpoint' || /is not a valid|Invalid URL/.test(text))
    return { problem: `${name}: ${text}`, fix: 'check DYNAMODB_ENDPOINT and AWS_REGION', permanent: true };
  return { problem: `${name}: ${text}`, fix: 'check DYNAMODB_ENDPOINT and AWS_REGION', permanent: false };
}

/**
 * One attempt: the SDK's chain yields credentials, then DescribeTable on the app's table answers (a missing
 * table is fine: the applier creates it, or says how). DescribeTable because every app needs it anyway, so a
 * least-privilege role grants it; ListTables it may not.
 */
async function probeDynamo(cfg: DynamoConfig, table: string): Promise<void> {
  const client = new DynamoDBClient({
    region: cfg.region,
    ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
    maxAttempts: 1,
    requestHandler: { requestTimeout: ATTEMPT_TIMEOUT_MS, throwOnRequestTimeout: true },
  });
  const failed = (err: unknown) => {
    const { problem, fix, permanent } = dynamoProblem(err, cfg, table);
    return new DependencyError('DynamoDB', dynamoEndpoint(cfg), problem, fix, permanent);
  };
  try {
    await client.config.credentials().catch((err: unknown) => {
      throw failed(err);
    });
    await client.send(new DescribeTableCommand({ TableName: table })).catch((err: unknown) => {
      if ((err as Error).name !== 'ResourceNotFoundException') throw failed(err);
    });
  } finally {
    client.destroy();
  }
}

/** DynamoDB answers (with credentials) within `timeoutMs`, retried with one log line per failed attempt. */
export function checkDynamo(
  cfg: DynamoConfig,
  table: string,
  opts: { timeoutMs: number; log: Logger },
): Promise<void> {
  return retryDependency(() => probeDynamo(cfg, table), opts);
}

/** The check for an app writing or reading `tableOf(config)` (default: CDC_TABLE). */
export function dynamoStartupCheck(tableOf: (config: CdcConfig) => string = (c) => c.table): StartupCheck {
  return {
    name: 'DynamoDB',
    run: (config, log) =>
      checkDynamo(config.dynamo, tableOf(config), { timeoutMs: config.startupTimeoutMs, log }),
  };
}
