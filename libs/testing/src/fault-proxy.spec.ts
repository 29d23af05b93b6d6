import { describe, expect, it } from 'vitest';
import { ALL_FAULTS, faultResponse, faultSequence, type InjectedFault } from './fault-proxy';

const draw = (next: () => InjectedFault | undefined, n: number) => Array.from({ length: n }, () => next());

describe('faultSequence', () => {
  it('is deterministic for a seed, and differs for another seed', () => {
    expect(draw(faultSequence(7, 1 / 3), 200)).toEqual(draw(faultSequence(7, 1 / 3), 200));
    expect(draw(faultSequence(7, 1 / 3), 200)).not.toEqual(draw(faultSequence(8, 1 / 3), 200));
  });

  it('faults about the given fraction of requests, spread over every kind', () => {
    const seq = draw(faultSequence(42, 1 / 3), 6_000);
    const faults = seq.filter((f) => f !== undefined);
    expect(faults.length / seq.length).toBeGreaterThan(0.3);
    expect(faults.length / seq.length).toBeLessThan(0.37);
    for (const kind of ALL_FAULTS) expect(faults.filter((f) => f === kind).length).toBeGreaterThan(400);
  });

  it('rate 0 never faults, rate 1 always does, only the kinds asked for', () => {
    expect(draw(faultSequence(1, 0), 500).every((f) => f === undefined)).toBe(true);
    expect(draw(faultSequence(1, 1, ['internal-error']), 500).every((f) => f === 'internal-error')).toBe(
      true,
    );
  });

  it('refuses a rate outside 0..1 and an empty kind list', () => {
    expect(() => faultSequence(1, 1.5)).toThrow(/between 0 and 1/);
    expect(() => faultSequence(1, 0.5, [])).toThrow(/no fault kinds/);
  });
});

describe('faultResponse', () => {
  it("answers with DynamoDB's awsJson error shapes: throttles are 400, internal errors 500", () => {
    const parsed = (k: InjectedFault) => {
      const r = faultResponse(k);
      return { status: r.status, type: (JSON.parse(r.body) as { __type: string }).__type };
    };
    expect(parsed('throttling')).toEqual({
      status: 400,
      type: 'com.amazonaws.dynamodb.v20120810#ThrottlingException',
    });
    expect(parsed('provisioned-throughput')).toEqual({
      status: 400,
      type: 'com.amazonaws.dynamodb.v20120810#ProvisionedThroughputExceededException',
    });
    expect(parsed('internal-error')).toEqual({
      status: 500,
      type: 'com.amazonaws.dynamodb.v20120810#InternalServerError',
    });
  });
});
