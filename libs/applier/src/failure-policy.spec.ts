import {
  ConditionalCheckFailedException,
  ResourceNotFoundException,
  ThrottlingException,
} from '@aws-sdk/client-dynamodb';
import { ContractError } from '@cdc/contracts';
import { TableMissingError } from '@cdc/dynamo';
import { KafkaJSNumberOfRetriesExceeded, KafkaJSProtocolError } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import {
  batchFailurePolicy,
  DeadLetterError,
  decideFailure,
  describeStop,
  type FailureContext,
} from './failure-policy';
import { MappingError } from './item-mapper';

const write: FailureContext = { stage: 'write', table: 'cdc_users', dlqTopic: 'cdc.users.changes.dlq' };
const batch: FailureContext = { ...write, stage: 'batch' };

/** An error shaped as the AWS SDK throws it: a name and the HTTP status in $metadata. */
function sdkError(name: string, status: number, message = `${name} happened`): Error {
  return Object.assign(new Error(message), { name, $metadata: { httpStatusCode: status } });
}
function systemError(code: string): Error {
  return Object.assign(new Error(`connect ${code} 127.0.0.1:8000`), { code });
}
function kafkaProtocolError(type: string, retriable = false): Error {
  return new KafkaJSProtocolError({ message: `${type} from broker`, type, code: 29, retriable } as never);
}

describe('decideFailure: one event that can never apply goes to the DLQ', () => {
  it('a decode failure keeps its contract code, anything else undecodable is UNDECODABLE', () => {
    expect(
      decideFailure(new ContractError('UNKNOWN_SCHEMA', 'fingerprint abab'), { stage: 'decode' }),
    ).toEqual({ action: 'dlq', code: 'UNKNOWN_SCHEMA', reason: 'fingerprint abab' });
    expect(decideFailure(new RangeError('offset out of range'), { stage: 'decode' })).toMatchObject({
      action: 'dlq',
      code: 'UNDECODABLE',
    });
  });

  it('a mapping failure is MAPPING_FAILED, whatever the mapper threw', () => {
    expect(decideFailure(new MappingError('no pk'), { ...write, stage: 'map' })).toEqual({
      action: 'dlq',
      code: 'MAPPING_FAILED',
      reason: 'no pk',
    });
    expect(decideFailure(new TypeError('x is undefined'), { ...write, stage: 'map' })).toMatchObject({
      action: 'dlq',
      code: 'MAPPING_FAILED',
      reason: 'mapItem threw: x is undefined',
    });
  });

  it('a DynamoDB ValidationException on the write is ITEM_REJECTED', () => {
    const d = decideFailure(sdkError('ValidationException', 400, 'Item size has exceeded 400 KB'), write);
    expect(d).toEqual({
      action: 'dlq',
      code: 'ITEM_REJECTED',
      reason: 'DynamoDB ValidationException: Item size has exceeded 400 KB',
    });
  });

  it('never DLQs from a whole failed batch or the DLQ write: no single event is at stake there', () => {
    for (const stage of ['batch', 'dead-letter'] as const) {
      expect(decideFailure(sdkError('ValidationException', 400), { ...write, stage }).action).toBe('retry');
      expect(decideFailure(new ContractError('BAD_MAGIC', 'x'), { ...write, stage }).action).toBe('retry');
      expect(decideFailure(new MappingError('x'), { ...write, stage }).action).toBe('retry');
    }
  });
});

describe('decideFailure: a failed version condition is not a failure', () => {
  it('ConditionalCheckFailed is stale, at any stage', () => {
    const ccf = new ConditionalCheckFailedException({
      message: 'The conditional request failed',
      $metadata: {},
    });
    expect(decideFailure(ccf, write)).toEqual({ action: 'stale' });
    expect(decideFailure(ccf, batch)).toEqual({ action: 'stale' });
  });
});

describe('decideFailure: "not now" is retried, never skipped', () => {
  it('throttling after the SDK retries', () => {
    const throttled = new ThrottlingException({ message: 'Rate exceeded', $metadata: {} });
    for (const err of [
      throttled,
      sdkError('ProvisionedThroughputExceededException', 400),
      sdkError('RequestLimitExceeded', 400),
    ]) {
      const d = decideFailure(err, write);
      expect(d).toMatchObject({ action: 'retry', delayMs: 1_000 });
      expect(d.action === 'retry' && d.reason).toContain('throttling');
    }
  });

  it('5xx answers and network errors', () => {
    for (const err of [sdkError('InternalServerError', 500), sdkError('SomethingNew', 503)])
      expect(decideFailure(err, write)).toMatchObject({ action: 'retry', reason: /server error/ });
    for (const err of [systemError('ECONNREFUSED'), systemError('ECONNRESET'), sdkError('TimeoutError', 0)])
      expect(decideFailure(err, batch)).toMatchObject({ action: 'retry', reason: /network/ });
  });

  it('backs off with the attempt: 1 s, 2 s, 4 s ... capped at 30 s', () => {
    const delays = [1, 2, 3, 10].map((attempt) => {
      const d = decideFailure(systemError('ECONNREFUSED'), { ...batch, attempt });
      return d.action === 'retry' ? d.delayMs : -1;
    });
    expect(delays).toEqual([1_000, 2_000, 4_000, 30_000]);
  });

  it('a DLQ that cannot be written: retried, the events kept (even a non-retriable kafkajs error)', () => {
    const tooLarge = kafkaProtocolError('MESSAGE_TOO_LARGE');
    const wrapped = new DeadLetterError('cdc.users.changes.dlq', tooLarge);
    expect(wrapped.message).toContain('cdc.users.changes.dlq');
    for (const d of [
      decideFailure(wrapped, batch),
      decideFailure(tooLarge, { ...write, stage: 'dead-letter' }),
    ])
      expect(d).toMatchObject({ action: 'retry', reason: /DLQ could not be written.*never dropped/ });
    const exhausted = new KafkaJSNumberOfRetriesExceeded(new Error('broker gone'), {
      retryCount: 5,
      retryTime: 1000,
    });
    expect(decideFailure(new DeadLetterError('dlq', exhausted), batch).action).toBe('retry');
  });

  it('anything unclassified is retried (the safe default: nothing skipped, nothing committed past it)', () => {
    expect(decideFailure(new Error('surprise'), batch)).toMatchObject({
      action: 'retry',
      reason: 'an unclassified error (Error: surprise)',
    });
    expect(decideFailure('a string', batch).action).toBe('retry');
  });
});

describe('decideFailure: stop when only an operator can help, naming the fix', () => {
  it('the table is gone: names the table and how to recreate it', () => {
    for (const err of [
      new ResourceNotFoundException({
        message: 'Cannot do operations on a non-existent table',
        $metadata: {},
      }),
      new TableMissingError('cdc_users'),
    ]) {
      const d = decideFailure(err, write);
      expect(d.action).toBe('stop');
      if (d.action !== 'stop') return;
      expect(d.reason).toContain('DynamoDB table "cdc_users" does not exist');
      expect(d.fix).toContain('create table "cdc_users"');
      expect(d.fix).toContain('CDC_CREATE_TABLE=true');
      expect(describeStop(d)).toBe(`${d.reason}. Fix: ${d.fix}`);
    }
  });

  it('access denied: names the table and the permission', () => {
    const d = decideFailure(
      sdkError('AccessDeniedException', 400, 'not authorized to perform PutItem'),
      batch,
    );
    expect(d).toMatchObject({ action: 'stop', reason: /access to table "cdc_users"/ });
    expect(d.action === 'stop' && d.fix).toContain('dynamodb:PutItem');
  });

  it('missing, unknown or expired credentials', () => {
    for (const name of [
      'CredentialsProviderError',
      'UnrecognizedClientException',
      'InvalidSignatureException',
      'ExpiredTokenException',
    ]) {
      const d = decideFailure(sdkError(name, 400), write);
      expect(d, name).toMatchObject({ action: 'stop', reason: new RegExp(name) });
      expect(d.action === 'stop' && d.fix).toContain('AWS_ACCESS_KEY_ID=local');
    }
  });

  it('Kafka ACLs or SASL refuse the applier, also behind the DLQ wrapper', () => {
    const denied = kafkaProtocolError('TOPIC_AUTHORIZATION_FAILED');
    const d = decideFailure(new DeadLetterError('cdc.users.changes.dlq', denied), batch);
    expect(d).toMatchObject({ action: 'stop', reason: /TOPIC_AUTHORIZATION_FAILED/ });
    expect(d.action === 'stop' && d.fix).toContain('Write on cdc.users.changes.dlq');
    expect(decideFailure(kafkaProtocolError('SASL_AUTHENTICATION_FAILED'), batch).action).toBe('stop');
  });

  it('without a table in the context, still says what to do', () => {
    const d = decideFailure(sdkError('ResourceNotFoundException', 400), { stage: 'batch' });
    expect(d).toMatchObject({ action: 'stop', reason: /table \(the target table\) does not exist/ });
  });
});

describe('batchFailurePolicy: the consumer hook', () => {
  const decide = batchFailurePolicy({ table: 'cdc_users', dlqTopic: 'cdc.users.changes.dlq' });

  it('stops with one line naming the failure and the fix', () => {
    const d = decide(sdkError('ResourceNotFoundException', 400), 3);
    expect(d.action).toBe('stop');
    expect(d.action === 'stop' && d.message).toMatch(
      /^DynamoDB table "cdc_users" does not exist.*\. Fix: create/,
    );
  });

  it('retries everything else with the backoff of the attempt', () => {
    expect(decide(sdkError('InternalServerError', 500), 2)).toEqual({ action: 'retry', delayMs: 2_000 });
    expect(decide(sdkError('ValidationException', 400), 1)).toEqual({ action: 'retry', delayMs: 1_000 });
  });
});
