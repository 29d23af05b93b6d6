import { ContractError, type DlqCode } from '@cdc/contracts';
import { type BatchFailureDecision, pauseDelayMs } from '@cdc/kafka';
import { MappingError } from './item-mapper';

/**
 * The one failure policy of the apply path (docs/architecture.md, "Failure policy"). Every place that handles an
 * error while applying (decoding, mapping, the conditional write, the DLQ write, a failed batch in the consumer)
 * asks `decideFailure`, so the same error gets the same answer everywhere:
 * - `dlq`: this one event can never apply (bad bytes, a mapping or an item DynamoDB refuses); the batch goes on.
 * - `retry`: not now (throttling, 5xx, network, the DLQ unwritable, anything unknown): the batch is retried
 *   after `delayMs`, nothing skipped, nothing committed past it.
 * - `stop`: retrying cannot help until an operator acts (the table is gone, access denied, no or bad
 *   credentials): the applier stops consuming, commits nothing past the failure and says `fix`.
 * - `stale`: a failed version condition is not a failure at all: the stored item is as new or newer.
 * Pure: classifies by error class, name and code, never by I/O.
 */
export type FailureDecision =
  | { readonly action: 'retry'; readonly reason: string; readonly delayMs: number }
  | { readonly action: 'dlq'; readonly code: DlqCode; readonly reason: string }
  | { readonly action: 'stop'; readonly reason: string; readonly fix: string }
  | { readonly action: 'stale' };

/** Where the error happened: only a single event's decode, mapping or write can send that event to the DLQ. */
export type FailureStage = 'decode' | 'map' | 'write' | 'dead-letter' | 'batch';

export interface FailureContext {
  readonly stage: FailureStage;
  /** The DynamoDB table written (named in stop messages). */
  readonly table?: string;
  /** The DLQ topic (named when it cannot be written). */
  readonly dlqTopic?: string;
  /** Consecutive failures of this batch, 1 = first (drives the backoff). */
  readonly attempt?: number;
}

/** The DLQ write failed: the events are not dropped, the batch is retried (the original error is the cause). */
export class DeadLetterError extends Error {
  constructor(dlqTopic: string | undefined, cause: unknown) {
    super(
      `the DLQ ${dlqTopic ?? 'topic'} could not be written: ${(cause as Error)?.message ?? String(cause)}`,
      {
        cause,
      },
    );
    this.name = 'DeadLetterError';
  }
}

/** DynamoDB's throttling answers (after the SDK's own adaptive retries). */
const THROTTLING = new Set([
  'ThrottlingException',
  'ProvisionedThroughputExceededException',
  'RequestLimitExceeded',
  'TooManyRequestsException',
]);
/** The request was not signed with usable credentials: only new credentials help. */
const BAD_CREDENTIALS = new Set([
  'CredentialsProviderError',
  'UnrecognizedClientException',
  'InvalidSignatureException',
  'IncompleteSignatureException',
  'MissingAuthenticationTokenException',
  'ExpiredTokenException',
  'InvalidClientTokenId',
]);
/** Kafka refuses this client: ACLs or SASL, which only an operator can change. */
const KAFKA_DENIED = new Set([
  'TOPIC_AUTHORIZATION_FAILED',
  'GROUP_AUTHORIZATION_FAILED',
  'CLUSTER_AUTHORIZATION_FAILED',
  'TRANSACTIONAL_ID_AUTHORIZATION_FAILED',
  'SASL_AUTHENTICATION_FAILED',
]);

export function decideFailure(err: unknown, ctx: FailureContext): FailureDecision {
  const error = err instanceof Error ? err : new Error(String(err));
  const causes = causeChain(error);
  const names = new Set(causes.flatMap((e) => [e.name, codeOf(e)].filter((n): n is string => !!n)));
  const has = (set: ReadonlySet<string>) => [...names].find((n) => set.has(n));

  // Not a failure: the version condition said the stored item is as new or newer (invariant 2).
  if (names.has('ConditionalCheckFailedException')) return { action: 'stale' };

  // One event that will never apply: to the DLQ, wherever a single event is at stake.
  if (ctx.stage === 'decode')
    return {
      action: 'dlq',
      code: error instanceof ContractError ? error.code : 'UNDECODABLE',
      reason: error.message,
    };
  if (ctx.stage === 'map')
    return {
      action: 'dlq',
      code: 'MAPPING_FAILED',
      reason: error instanceof MappingError ? error.message : `mapItem threw: ${error.message}`,
    };
  if (ctx.stage === 'write' && names.has('ValidationException'))
    return {
      action: 'dlq',
      code: 'ITEM_REJECTED',
      reason: `DynamoDB ValidationException: ${error.message}`,
    };

  // The operator must act: retrying the same request can never succeed.
  const table = ctx.table ? `"${ctx.table}"` : '(the target table)';
  if (names.has('ResourceNotFoundException') || names.has('TableMissingError'))
    return {
      action: 'stop',
      reason: `DynamoDB table ${table} does not exist (${error.name}: ${error.message})`,
      fix:
        `create table ${table} (partition key "pk" of type S, a stream with NEW_AND_OLD_IMAGES, TTL on ` +
        `"expireAt"), or let the replicator create it (CDC_CREATE_TABLE=true for the applier, --create-table ` +
        'for cdc replay), then restart it; it resumes from the last committed offset',
    };
  if (names.has('AccessDeniedException'))
    return {
      action: 'stop',
      reason: `DynamoDB denied the applier access to table ${table} (${error.message})`,
      fix:
        `grant the applier's AWS identity dynamodb:PutItem and dynamodb:DescribeTable on table ${table}, ` +
        'then restart it',
    };
  const credentials = has(BAD_CREDENTIALS);
  if (credentials)
    return {
      action: 'stop',
      reason: `DynamoDB rejected the applier's AWS credentials (${credentials}: ${error.message})`,
      fix:
        'give the applier valid AWS credentials through the SDK chain (AWS_ACCESS_KEY_ID and ' +
        'AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or a role); DynamoDB Local accepts any: export ' +
        'AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local; then restart it',
    };
  const denied = has(KAFKA_DENIED);
  if (denied)
    return {
      action: 'stop',
      reason: `Kafka refused the applier (${denied}: ${error.message})`,
      fix:
        `grant the applier's Kafka principal Read on the changes topic and its consumer group and Write on ` +
        `${ctx.dlqTopic ?? 'the DLQ topic'}, or fix KAFKA_SASL_*; then restart it`,
    };

  // Everything else is "not now": the batch comes back after the backoff, nothing skipped (never drop).
  const attempt = ctx.attempt ?? 1;
  const what =
    ctx.stage === 'dead-letter' || names.has('DeadLetterError')
      ? 'the DLQ could not be written; the events are kept and retried, never dropped'
      : has(THROTTLING)
        ? 'DynamoDB is throttling'
        : serverError(causes)
          ? 'DynamoDB or Kafka answered with a server error'
          : networkError(names, error)
            ? 'a network error'
            : 'an unclassified error';
  return {
    action: 'retry',
    reason: `${what} (${error.name}: ${error.message})`,
    delayMs: pauseDelayMs(attempt),
  };
}

/** One line for logs and health: the reason, then the fix. */
export function describeStop(decision: { reason: string; fix: string }): string {
  return `${decision.reason}. Fix: ${decision.fix}`;
}

/** The error, then what it wraps (SDK `cause`, kafkajs `originalError` / retries-exceeded `cause`). */
function causeChain(error: Error): Error[] {
  const chain: Error[] = [];
  let at: unknown = error;
  while (at instanceof Error && chain.length < 5 && !chain.includes(at)) {
    chain.push(at);
    const e = at as Error & { cause?: unknown; originalError?: unknown };
    at = e.cause ?? e.originalError;
  }
  return chain;
}

/** A kafkajs protocol error's `type`, a Node system error's `code`, or the SDK error's `Code`. */
function codeOf(e: Error): string | undefined {
  const x = e as Error & { type?: unknown; code?: unknown; Code?: unknown };
  for (const v of [x.type, x.code, x.Code]) if (typeof v === 'string') return v;
  return undefined;
}

function serverError(causes: readonly Error[]): boolean {
  return causes.some((e) => {
    const status = (e as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
    return (
      (status !== undefined && status >= 500) ||
      e.name === 'InternalServerError' ||
      e.name === 'ServiceUnavailable'
    );
  });
}

const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ETIMEDOUT',
  'EPIPE',
  'ENOTFOUND',
  'EAI_AGAIN',
  'TimeoutError',
]);
function networkError(names: ReadonlySet<string>, error: Error): boolean {
  return [...names].some((n) => NETWORK.has(n)) || /socket hang up|connect|timed? ?out/i.test(error.message);
}

/** The BatchConsumer's `decide` hook: a failed batch judged by this policy (retry after a backoff, or stop). */
export function batchFailurePolicy(
  ctx: Omit<FailureContext, 'stage' | 'attempt'>,
): (error: Error, attempt: number) => BatchFailureDecision {
  return (error, attempt) => {
    const decision = decideFailure(error, { ...ctx, stage: 'batch', attempt });
    if (decision.action === 'stop') return { action: 'stop', message: describeStop(decision) };
    // dlq / stale cannot come out of a whole batch (the BatchApplier settles those per event): retry, skip nothing.
    return {
      action: 'retry',
      delayMs: decision.action === 'retry' ? decision.delayMs : pauseDelayMs(attempt),
    };
  };
}
