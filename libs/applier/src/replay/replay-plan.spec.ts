import { describe, expect, it } from 'vitest';
import {
  allFinished,
  decideStart,
  etaSeconds,
  planRanges,
  progressOf,
  type ReplayCheckpoint,
  resumePosition,
} from './replay-plan';

const marks = [
  { partition: 1, low: '5', high: '40' },
  { partition: 0, low: '0', high: '10' },
  { partition: 2, low: '0', high: '0' },
];

describe('planRanges', () => {
  it('--from-beginning starts at each low watermark and ends at the high watermark seen now', () => {
    expect(planRanges({ kind: 'beginning' }, marks)).toEqual([
      { partition: 0, start: '0', end: '10' },
      { partition: 1, start: '5', end: '40' },
      { partition: 2, start: '0', end: '0' },
    ]);
  });

  it('--from-offset N starts every partition at max(N, low), never past the end', () => {
    expect(planRanges({ kind: 'offset', offset: '3' }, marks).map((r) => r.start)).toEqual(['3', '5', '0']);
    expect(planRanges({ kind: 'offset', offset: '25' }, marks).map((r) => r.start)).toEqual([
      '10',
      '25',
      '0',
    ]);
  });

  it('--from-timestamp starts at the first offset at or after it; none there means nothing to replay', () => {
    const byTs = [
      { partition: 0, offset: '7' },
      { partition: 1, offset: '-1' },
      { partition: 2, offset: '0' },
    ];
    expect(planRanges({ kind: 'timestamp', timestamp: 1 }, marks, byTs)).toEqual([
      { partition: 0, start: '7', end: '10' },
      { partition: 1, start: '40', end: '40' },
      { partition: 2, start: '0', end: '0' },
    ]);
  });

  it('a timestamp answer below the low watermark (compacted away meanwhile) is clamped up', () => {
    const [r] = planRanges(
      { kind: 'timestamp', timestamp: 1 },
      [{ partition: 0, low: '4', high: '9' }],
      [{ partition: 0, offset: '2' }],
    );
    expect(r?.start).toBe('4');
  });

  it('keeps offsets above 2^53 exact', () => {
    const big = '9007199254740993';
    const [r] = planRanges({ kind: 'beginning' }, [{ partition: 0, low: big, high: '9007199254740999' }]);
    expect(r).toEqual({ partition: 0, start: big, end: '9007199254740999' });
  });
});

describe('end-offset bookkeeping', () => {
  const range = { partition: 0, start: '10', end: '20' };

  it('is done when the committed position is at or past the end recorded at the start', () => {
    expect(progressOf(range, '19')).toEqual({ partition: 0, done: 9, total: 10, finished: false });
    expect(progressOf(range, '20')).toMatchObject({ done: 10, finished: true });
    // A batch straddling the end commits past it (the messages after the end were ignored): still done.
    expect(progressOf(range, '35')).toMatchObject({ done: 10, finished: true });
  });

  it('an empty range is done from the start', () => {
    expect(progressOf({ partition: 3, start: '7', end: '7' }, '7')).toMatchObject({
      total: 0,
      finished: true,
    });
  });

  it('all partitions must be done', () => {
    expect(allFinished([progressOf(range, '20'), progressOf(range, '12')])).toBe(false);
    expect(allFinished([progressOf(range, '20'), progressOf(range, '21')])).toBe(true);
  });

  it('a partition without a committed offset (-1) resumes at its start', () => {
    expect(resumePosition(range, '-1')).toBe('10');
    expect(resumePosition(range, undefined)).toBe('10');
    expect(resumePosition(range, '15')).toBe('15');
  });
});

describe('etaSeconds', () => {
  it('extrapolates the rate of this run', () => {
    // 50 of 100 done in 10 s from zero: 10 s more.
    expect(etaSeconds({ done: 50, total: 100 }, 0, 10_000)).toBe(10);
    // A resumed run found 40 done; 10 more in 5 s: 50 left at 2/s = 25 s.
    expect(etaSeconds({ done: 50, total: 100 }, 40, 5_000)).toBe(25);
  });

  it('is 0 when done and unknown before any progress', () => {
    expect(etaSeconds({ done: 100, total: 100 }, 0, 1)).toBe(0);
    expect(etaSeconds({ done: 30, total: 100 }, 30, 5_000)).toBeNull();
  });
});

describe('decideStart', () => {
  const cp: ReplayCheckpoint = {
    source: 's',
    topic: 'cdc.s.changes',
    table: 'T',
    group: 'cdc-replay.s.T',
    start: { kind: 'beginning' },
    startedAt: 0,
    partitions: [],
  };

  it('starts fresh without a checkpoint, and needs a start for that', () => {
    expect(decideStart(null, { kind: 'beginning' }, false)).toEqual({
      mode: 'fresh',
      start: { kind: 'beginning' },
    });
    expect(decideStart(null, undefined, false)).toMatchObject({ mode: 'error' });
  });

  it('resumes with no start given or the same one (rerunning the same command)', () => {
    expect(decideStart(cp, undefined, false)).toEqual({ mode: 'resume', checkpoint: cp });
    expect(decideStart(cp, { kind: 'beginning' }, false)).toEqual({ mode: 'resume', checkpoint: cp });
  });

  it('refuses a different start over an interrupted replay unless --restart', () => {
    const other = { kind: 'offset', offset: '5' } as const;
    const d = decideStart(cp, other, false);
    expect(d.mode).toBe('error');
    expect(d.mode === 'error' && d.message).toMatch(/--restart/);
    expect(decideStart(cp, other, true)).toEqual({ mode: 'fresh', start: other });
    expect(decideStart(cp, undefined, true)).toMatchObject({ mode: 'error' });
  });
});
