import { describe, expect, it } from 'vitest';
import { gapFreeSince, readiness, type ReadinessInputs } from './readiness';

const now = 1_700_000_000_000;
const ready: ReadinessInputs = {
  now,
  aliveAt: now - 1_000,
  gaps: { since: now - 600_000, lastGapAt: null, lastGapCause: null, lastHealedAt: null, gaps: 0 },
  consumerLag: [
    { partition: 0, lag: 0 },
    { partition: 1, lag: 3 },
  ],
  dlqDepth: 0,
  streamParity: {
    at: now - 2_000,
    windowMs: 300_000,
    classes: { match: 40, 'in-flight': 2 },
    lagP50Ms: 30,
    lagP99Ms: 400,
  },
  lastScan: { finishedAt: now - 60_000, checked: 100, classes: { match: 100 }, parityPct: 100, repaired: 0 },
};

const failing = (inputs: Partial<ReadinessInputs>, opts = {}) =>
  readiness({ ...ready, ...inputs }, opts)
    .checks.filter((c) => !c.ok)
    .map((c) => c.name);

describe('readiness', () => {
  it('is READY with no reasons when every check passes', () => {
    const r = readiness(ready);
    expect(r.verdict).toBe('READY');
    expect(r.reasons).toEqual([]);
    expect(r.checks.map((c) => c.name)).toEqual([
      'capture',
      'gaps',
      'consumer-lag',
      'dlq',
      'stream-parity',
      'scan',
      'lag-p99',
    ]);
  });

  it('is NOT READY with every reason on a fresh source (nothing ran yet)', () => {
    const r = readiness({
      now,
      aliveAt: null,
      gaps: null,
      consumerLag: { unknown: 'topic cdc.x.changes does not exist' },
      dlqDepth: { unknown: 'topic cdc.x.changes.dlq does not exist' },
      streamParity: null,
      lastScan: null,
    });
    expect(r.verdict).toBe('NOT READY');
    expect(r.reasons).toHaveLength(7);
    expect(r.reasons).toContain('no complete scan yet: run cdc verify');
    expect(r.reasons.join('\n')).toContain('topic cdc.x.changes does not exist');
  });

  it('capture: silent past the threshold', () => {
    expect(failing({ aliveAt: now - 10_000 })).toEqual([]);
    expect(failing({ aliveAt: now - 10_001 })).toEqual(['capture']);
    expect(failing({ aliveAt: now - 20_000 }, { aliveWithinMs: 30_000 })).toEqual([]);
  });

  it('gaps: an unhealed gap fails, and a scan older than the last gap fails', () => {
    const gap = { since: now - 600_000, lastGapAt: now - 5_000, lastGapCause: 'reconnect', gaps: 1 };
    expect(failing({ gaps: { ...gap, lastHealedAt: null } })).toEqual(['gaps', 'scan']);
    // Healed, but the verify scan ran before the gap: keys deleted meanwhile are only found by a new scan.
    expect(failing({ gaps: { ...gap, lastHealedAt: now - 4_000 } })).toEqual(['scan']);
    const r = readiness({
      ...ready,
      gaps: { ...gap, lastHealedAt: now - 4_000 },
      lastScan: { ...(ready.lastScan as NonNullable<ReadinessInputs['lastScan']>), finishedAt: now - 1_000 },
    });
    expect(r.verdict).toBe('READY');
    expect(r.checks.find((c) => c.name === 'gaps')?.detail).toContain('gap-free since');
  });

  it('consumer lag: any partition over the threshold fails, naming it', () => {
    const lag = [
      { partition: 0, lag: 1_000 },
      { partition: 4, lag: 1_001 },
    ];
    const r = readiness({ ...ready, consumerLag: lag });
    expect(r.reasons).toEqual([
      'consumer lag over 1000 on partition 4 (1001): the applier is behind or stopped',
    ]);
    expect(failing({ consumerLag: lag }, { maxConsumerLag: 2_000 })).toEqual([]);
    expect(failing({ consumerLag: [] })).toEqual([]);
  });

  it('DLQ: any message fails unless accepted', () => {
    expect(failing({ dlqDepth: 2 })).toEqual(['dlq']);
    expect(failing({ dlqDepth: 2 }, { maxDlqDepth: 2 })).toEqual([]);
  });

  it('stream parity: 100% of confirmed records, at least one, from a fresh snapshot', () => {
    const s = ready.streamParity as NonNullable<ReadinessInputs['streamParity']>;
    expect(failing({ streamParity: { ...s, classes: { match: 40, value: 1 } } })).toEqual(['stream-parity']);
    expect(
      readiness({ ...ready, streamParity: { ...s, classes: { match: 3, missing: 1 } } }).reasons,
    ).toEqual(['stream parity 75.0% over the last 300.0 s (1 missing): run cdc verify --repair']);
    // In flight only: nothing confirmed, so nothing proven.
    expect(failing({ streamParity: { ...s, classes: { 'in-flight': 5 } } })).toEqual(['stream-parity']);
    // Keys left out by policy (streams, oversized values) are neither a mismatch nor a record that counts.
    expect(failing({ streamParity: { ...s, classes: { match: 3, 'not-carried': 2 } } })).toEqual([]);
    expect(failing({ streamParity: { ...s, classes: { 'not-carried': 2 } } })).toEqual(['stream-parity']);
    expect(
      readiness({ ...ready, streamParity: { ...s, classes: { match: 3 }, rechecking: 4 } }).checks.find(
        (c) => c.name === 'stream-parity',
      )?.detail,
    ).toBe(
      '100% of 3 confirmed records over the last 300.0 s; 4 in flight now, rechecked until the pipeline passes them',
    );
    expect(
      readiness({ ...ready, streamParity: { ...s, classes: { match: 3, stuck: 1, 'not-carried': 1 } } })
        .reasons,
    ).toEqual([
      'stream parity 75.0% over the last 300.0 s; 1 not carried by policy, not counted (1 stuck in flight): ' +
        'the verifier log names the stuck keys and the lag they wait on (CDC_VERIFIER_IN_FLIGHT_LIMIT_MS)',
    ]);
    expect(failing({ streamParity: { ...s, at: now - 31_000 } })).toEqual(['stream-parity']);
    expect(failing({ streamParity: null })).toEqual(['stream-parity', 'lag-p99']);
  });

  it('last scan: must be at 100%', () => {
    const scan = ready.lastScan as NonNullable<ReadinessInputs['lastScan']>;
    expect(failing({ lastScan: { ...scan, parityPct: 99.99 } })).toEqual(['scan']);
  });

  it('lag p99: over the threshold, or not measured, fails', () => {
    const s = ready.streamParity as NonNullable<ReadinessInputs['streamParity']>;
    expect(failing({ streamParity: { ...s, lagP99Ms: 5_001 } })).toEqual(['lag-p99']);
    expect(failing({ streamParity: { ...s, lagP99Ms: 5_001 } }, { maxLagP99Ms: 10_000 })).toEqual([]);
    expect(failing({ streamParity: { ...s, lagP99Ms: null } })).toEqual(['lag-p99']);
  });
});

describe('gapFreeSince', () => {
  it('is the start when there was no gap, the heal when healed, null while a gap is open', () => {
    const base = { since: 10, lastGapAt: null, lastGapCause: null, lastHealedAt: null, gaps: 0 };
    expect(gapFreeSince(null)).toBeNull();
    expect(gapFreeSince(base)).toBe(10);
    expect(gapFreeSince({ ...base, lastGapAt: 20, gaps: 1 })).toBeNull();
    expect(gapFreeSince({ ...base, lastGapAt: 20, lastHealedAt: 25, gaps: 1 })).toBe(25);
  });
});
