import { describe, expect, it } from 'vitest';
import { rebuildAdvice, VERIFY_EXIT, verifyExit, verifyTarget } from './verify-target';

const base = {
  configTable: 'cdc_users',
  requested: undefined,
  applierGroup: 'cdc-applier.users.cdc_users',
  topic: 'cdc.users.changes',
  applierCommits: true,
};

describe('verifyTarget: which table is live (the only one --repair fixes)', () => {
  it('the configured table an applier group commits for is live', () => {
    expect(verifyTarget(base)).toEqual({ table: 'cdc_users', liveTable: 'cdc_users', live: true, why: null });
    expect(verifyTarget({ ...base, requested: 'cdc_users' }).live).toBe(true);
  });

  it('--table naming another table is not live, whatever Kafka says', () => {
    const t = verifyTarget({ ...base, requested: 'replay1' });
    expect(t).toMatchObject({ table: 'replay1', liveTable: 'cdc_users', live: false });
    expect(t.why).toContain("table replay1 is not the live pipeline's table (cdc_users");
  });

  it('a configured table no applier group commits for (CDC_TABLE=replay1) is not live', () => {
    const t = verifyTarget({
      ...base,
      configTable: 'replay1',
      applierGroup: 'cdc-applier.users.replay1',
      applierCommits: false,
    });
    expect(t.live).toBe(false);
    expect(t.why).toContain('group cdc-applier.users.replay1 has no committed offsets on cdc.users.changes');
    expect(verifyTarget({ ...base, applierCommits: null }).live).toBeNull();
  });

  it('the advice for a table that is not live is the replay, never --repair', () => {
    const advice = rebuildAdvice(verifyTarget({ ...base, requested: 'replay1' }));
    expect(advice).toContain('npx cdc replay --to-table replay1 --from-beginning');
    expect(advice).toContain('which the live applier writes to cdc_users, not replay1');
    expect(advice).not.toMatch(/cdc verify --repair/);
  });
});

describe('verifyExit: the cutover gate', () => {
  const done = { completed: true, mismatches: 0, inFlight: 0 };
  it('is 0 only when every checked key is proven', () => {
    expect(verifyExit(done)).toBe(VERIFY_EXIT.parity);
  });

  it('is 3 when nothing is confirmed but keys are still in flight (applier behind, stopped, Kafka away)', () => {
    expect(verifyExit({ ...done, inFlight: 12 })).toBe(3);
  });

  it('confirmed mismatches (2) take precedence over in flight; a stopped run is 130', () => {
    expect(verifyExit({ ...done, mismatches: 1, inFlight: 12 })).toBe(2);
    expect(verifyExit({ completed: false, mismatches: 1, inFlight: 1 })).toBe(130);
  });
});
