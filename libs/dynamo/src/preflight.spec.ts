import { describe, expect, it } from 'vitest';
import { dynamoEndpoint, dynamoProblem } from './preflight';

const local = { endpoint: 'http://127.0.0.1:8000', region: 'us-east-1' };
const aws = { region: 'eu-west-1' };
const named = (name: string, message: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(message), { name, ...extra });

describe('dynamoProblem', () => {
  it('says DynamoDB Local accepts any credentials when none are found', () => {
    const p = dynamoProblem(
      named('CredentialsProviderError', 'Could not load credentials from any providers'),
      local,
      't',
    );
    expect(p).toEqual({
      problem: 'no AWS credentials (Could not load credentials from any providers)',
      fix: 'DynamoDB Local accepts any: export AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local',
      permanent: true,
    });
    expect(dynamoProblem(named('CredentialsProviderError', 'x'), aws, 't').fix).toContain('IAM role');
  });

  it('tells rejected credentials and a missing permission apart', () => {
    expect(
      dynamoProblem(
        named('UnrecognizedClientException', 'The security token included in the request is invalid.'),
        aws,
        't',
      ).problem,
    ).toMatch(/^credentials rejected/);
    const denied = dynamoProblem(named('AccessDeniedException', 'not authorized'), aws, 'orders');
    expect(denied.problem).toContain('"orders"');
    expect(denied.fix).toContain('dynamodb:DescribeTable');
  });

  it('retries an unreachable endpoint, and refuses an HTTP server that is not DynamoDB', () => {
    expect(
      dynamoProblem(
        named('Error', 'connect ECONNREFUSED 127.0.0.1:8000', { code: 'ECONNREFUSED' }),
        local,
        't',
      ),
    ).toMatchObject({
      problem: 'unreachable (connect ECONNREFUSED 127.0.0.1:8000)',
      permanent: false,
    });
    const other = dynamoProblem(
      named('Unknown', 'UnknownError', { $metadata: { httpStatusCode: 404 } }),
      local,
      't',
    );
    expect(other).toMatchObject({ permanent: true });
    expect(other.problem).toContain('HTTP 404');
  });

  it("names AWS's regional endpoint when DYNAMODB_ENDPOINT is unset", () => {
    expect(dynamoEndpoint(aws)).toBe('https://dynamodb.eu-west-1.amazonaws.com');
    expect(dynamoEndpoint(local)).toBe('http://127.0.0.1:8000');
  });
});
