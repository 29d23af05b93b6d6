import { describe, expect, it } from 'vitest';
import { formatStatus } from './status-line';

describe('formatStatus', () => {
  it('shows counts, lag and parity', () => {
    const line = formatStatus(
      {
        captured: 10,
        applied: 9,
        pending: 0,
        lagP50Ms: 3.4,
        lagP99Ms: 12,
        parity: 1,
        keysVerified: 8,
        mismatches: 0,
      },
      'redis-cli -p 4000',
    );
    expect(line).toBe(
      'captured 10 | applied 9 | lag p50 3 ms p99 12 ms | parity 100.00% of 8 keys | redis-cli -p 4000',
    );
  });

  it('says when nothing is known yet and when keys mismatch', () => {
    expect(
      formatStatus({
        captured: 0,
        applied: 0,
        pending: 2,
        lagP50Ms: undefined,
        lagP99Ms: undefined,
        parity: 1,
        keysVerified: 0,
        mismatches: 0,
      }),
    ).toBe('captured 0 | pending 2 | applied 0 | lag p50 - p99 - | parity -');
    expect(
      formatStatus({
        captured: 5,
        applied: 5,
        pending: 0,
        lagP50Ms: 1,
        lagP99Ms: 1,
        parity: 0.5,
        keysVerified: 4,
        mismatches: 2,
      }),
    ).toContain('parity 50.00% of 4 keys (2 mismatched)');
  });

  it('says loudly that the applier stopped', () => {
    expect(
      formatStatus({
        captured: 7,
        applied: 3,
        pending: 0,
        lagP50Ms: undefined,
        lagP99Ms: undefined,
        parity: 1,
        keysVerified: 0,
        mismatches: 0,
        applierStopped: true,
      }),
    ).toBe('captured 7 | applied 3 | APPLIER STOPPED (see above) | lag p50 - p99 - | parity -');
  });
});
