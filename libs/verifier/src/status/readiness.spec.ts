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
  dlq: { records: 0, notCarried: 0, accepted: 0, redriven: 0, open: {} },
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
      dlq: { unknown: 'topic cdc.x.changes.dlq does not exist' },
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

  it('DLQ: passes when every record is not carried by policy, accepted or redriven', () => {
    const dlq = (open: Record<string, number>, notCarried = 0, accepted = 0, redriven = 0) => ({
      records: notCarried + accepted + redriven + Object.values(open).reduce((a, b) => a + b, 0),
      notCarried,
      accepted,
      redriven,
      open,
    });
    const detail = (d: ReturnType<typeof dlq>) => readiness({ ...ready, dlq: d }).checks[3];
    expect(detail(dlq({}))).toEqual({ name: 'dlq', ok: true, detail: 'no records' });
    expect(detail(dlq({}, 2, 1, 1))).toEqual({
      name: 'dlq',
      ok: true,
      detail: '4 records, all explained (2 not carried by policy, 1 accepted, 1 redriven)',
    });
  });

  it('DLQ: fails on any unexplained record, with counts by code, each fix and the next command', () => {
    const r = readiness({
      ...ready,
      dlq: { records: 6, notCarried: 3, accepted: 0, redriven: 0, open: { ITEM_REJECTED: 1, BAD_MAGIC: 2 } },
    });
    expect(failing({ dlq: { records: 1, notCarried: 0, accepted: 0, redriven: 0, open: { X: 1 } } })).toEqual(
      ['dlq'],
    );
    expect(r.reasons).toHaveLength(1);
    const reason = r.reasons[0] ?? '';
    expect(reason).toMatch(
      /^the DLQ holds 3 unexplained records: 2 BAD_MAGIC \(a producer other than capture/,
    );
    expect(reason).toContain('1 ITEM_REJECTED (DynamoDB refused the item');
    expect(reason).toContain('besides 3 not carried by policy');
    expect(reason).toContain('cdc dlq list --open');
    expect(reason).toMatch(/cdc dlq accept 3$/);
    expect(failing({ dlq: { unknown: 'topic t.dlq does not exist' } })).toEqual(['dlq']);
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

  it('last scan: keys left in flight fail it, named with the count and the fix; confirmed mismatches first', () => {
    const scan = ready.lastScan as NonNullable<ReadinessInputs['lastScan']>;
    const check = (lastScan: ReadinessInputs['lastScan']) =>
      readiness({ ...ready, lastScan }).checks.find((c) => c.name === 'scan');
    // What a scan stores when the applier was behind: no confirmed mismatch, 7 keys not proven.
    const behind = {
      ...scan,
      classes: { match: 93, 'in-flight': 7 },
      parityPct: 93,
      mismatches: 0,
      inFlight: 7,
    };
    expect(check(behind)).toMatchObject({ ok: false });
    expect(check(behind)?.detail).toContain('left 7 keys in flight');
    expect(check(behind)?.detail).toContain('run cdc verify again');
    expect(check(behind)?.detail).not.toContain('--repair');
    // A summary written before the fields existed (and parityPct then counted in-flight as passing).
    const old = { ...scan, classes: { match: 93, 'in-flight': 7 }, parityPct: 100 };
    expect(check(old)).toMatchObject({ ok: false });
    expect(check(old)?.detail).toContain('left 7 keys in flight');
    const both = {
      ...behind,
      classes: { match: 90, 'in-flight': 7, value: 3 },
      mismatches: 3,
      parityPct: 90,
    };
    expect(check(both)?.detail).toContain('confirmed 3 mismatches');
    expect(check(both)?.detail).toContain('cdc verify --repair');
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
