import { describe, expect, it } from 'vitest';
import {
  buildReport,
  emptyCounts,
  formatSummary,
  inFlightAdvice,
  mergeCounts,
  nines,
  parityPct,
  recordVerdict,
  toScanSummary,
} from './report';

const meta = {
  sourceId: 's',
  table: 'cdc_s',
  match: null,
  segments: 4,
  startedAt: 1_000,
  finishedAt: 3_500,
  completed: true,
  resumed: false,
};

describe('nines', () => {
  it('is -log10 of the bad fraction, floored to one decimal', () => {
    expect(nines(1, 1_000)).toEqual({ nines: 3, atLeast: false });
    expect(nines(5, 10_000)).toEqual({ nines: 3.3, atLeast: false }); // 99.95 %
    expect(nines(1, 10)).toEqual({ nines: 1, atLeast: false });
    expect(nines(10, 10)).toEqual({ nines: 0, atLeast: false });
  });

  it('with no bad key, claims only what the sample size resolves', () => {
    expect(nines(0, 1_000)).toEqual({ nines: 3, atLeast: true });
    expect(nines(0, 5_000)).toEqual({ nines: 3.6, atLeast: true });
    expect(nines(0, 0)).toBeNull();
  });
});

describe('parityPct', () => {
  it('is the proven share: in-flight keys are not parity; floored so a near miss never shows 100', () => {
    const c = emptyCounts();
    c.classes.match = 9_998;
    c.classes['in-flight'] = 1;
    c.classes.value = 1;
    expect(parityPct(c.classes)).toBe(99.98);
    // Every key still in flight (the applier behind, or Kafka unreachable): nothing is proven.
    const behind = emptyCounts();
    behind.classes['in-flight'] = 50;
    expect(parityPct(behind.classes)).toBe(0);
    c.classes.match = 9_999_998;
    expect(parityPct(c.classes)).toBeLessThan(100);
    expect(parityPct(emptyCounts().classes)).toBe(100);
  });
});

describe('counts and report', () => {
  it('merges pages, keeps a bounded sample per class, and reports per class', () => {
    const total = emptyCounts();
    for (let page = 0; page < 2; page++) {
      const p = emptyCounts();
      p.itemsScanned = 10;
      p.keysScanned = 12;
      for (let i = 0; i < 8; i++) recordVerdict(p, 'match', `k${page}${i}`, 3);
      recordVerdict(p, 'value', `v${page}a`, 3);
      recordVerdict(p, 'value', `v${page}b`, 3);
      recordVerdict(p, 'extra', `e${page}`, 3);
      p.repaired = 3;
      mergeCounts(total, p, 3);
    }
    const r = buildReport(meta, total);
    expect(r).toMatchObject({
      itemsScanned: 20,
      keysScanned: 24,
      checked: 22,
      mismatches: 6,
      repaired: 6,
      verdict: 'mismatches',
      durationMs: 2_500,
    });
    expect(r.samples.value).toEqual(['v0a', 'v0b', 'v1a']);
    expect(r.samples.match).toBeUndefined();
    expect(r.nines.byClass.value).toEqual(nines(4, 22));
    expect(r.nines.byClass.ttl).toEqual({ nines: 1.3, atLeast: true });
    expect(toScanSummary(r)).toEqual({
      finishedAt: 3_500,
      checked: 22,
      classes: r.classes,
      parityPct: r.parityPct,
      mismatches: 6,
      inFlight: 0,
      repaired: 6,
    });
    const text = formatSummary(r);
    expect(text).toContain('Parity: 72.7272%');
    expect(text).toMatch(/value\s+4\s+0\.7 nines\s+e\.g\. v0a, v0b, v1a/);
    expect(text).toContain('Repaired: 6 keys');
  });

  it('says parity only for a complete run where every checked key matches', () => {
    const c = emptyCounts();
    c.classes.match = 5;
    expect(buildReport(meta, c).verdict).toBe('parity');
    expect(buildReport({ ...meta, completed: false }, c).verdict).toBe('incomplete');
  });

  it('keys left in flight are not parity: their own verdict, count, summary field and line; mismatches first', () => {
    const c = emptyCounts();
    c.classes.match = 5;
    c.classes['in-flight'] = 3;
    const r = buildReport(meta, c);
    expect(r).toMatchObject({ verdict: 'in-flight', inFlight: 3, mismatches: 0, parityPct: 62.5 });
    expect(toScanSummary(r)).toMatchObject({ inFlight: 3, mismatches: 0, parityPct: 62.5 });
    expect(formatSummary(r)).toContain('3 keys still in flight, not proven either way');
    expect(inFlightAdvice(3)).toMatch(
      /3 keys still in flight.*cdc status \(consumer-lag\).*cdc verify again/,
    );
    c.classes.value = 1;
    expect(buildReport(meta, c).verdict).toBe('mismatches');
  });

  it('warns when the pipeline progress could not be read', () => {
    const c = emptyCounts();
    c.classes['in-flight'] = 2;
    const r = buildReport(
      { ...meta, progressUnknown: 'Connection error: ECONNREFUSED (is Kafka reachable?)' },
      c,
    );
    expect(r.progressUnknown).toContain('ECONNREFUSED');
    expect(formatSummary(r)).toMatch(/Warning: the pipeline's progress could not be read \(Connection error/);
    expect(formatSummary(buildReport(meta, c))).not.toContain('Warning');
  });
});

describe('not-carried keys (left out by policy)', () => {
  it('are counted and listed apart, per DLQ code, outside the parity figure, and resume from old checkpoints', () => {
    const page = emptyCounts();
    recordVerdict(page, 'match', 'a', 10);
    recordVerdict(page, 'not-carried', 'stream-key', 10, 'UNSUPPORTED_TYPE');
    recordVerdict(page, 'not-carried', 'big-key', 10, 'VALUE_TOO_LARGE');
    // A checkpoint written before the class existed has neither the class nor the per-code counts.
    const old = emptyCounts() as Partial<ReturnType<typeof emptyCounts>>;
    delete (old.classes as Record<string, number>)['not-carried'];
    delete old.notCarried;
    const total = old as ReturnType<typeof emptyCounts>;
    mergeCounts(total, page, 10);
    const r = buildReport(meta, total);
    expect(r.checked).toBe(1);
    expect(r.parityPct).toBe(100);
    expect(r.mismatches).toBe(0);
    expect(r.verdict).toBe('parity');
    expect(r.classes['not-carried']).toBe(2);
    expect(r.notCarried).toEqual({ UNSUPPORTED_TYPE: 1, VALUE_TOO_LARGE: 1 });
    expect(r.samples['not-carried']).toEqual(['stream-key', 'big-key']);
    const text = formatSummary(r);
    expect(text).toContain('Not carried: 2 keys left out by policy (1 UNSUPPORTED_TYPE, 1 VALUE_TOO_LARGE)');
    expect(text).toMatch(/not-carried\s+2\s+e\.g\. stream-key, big-key/);
  });
});
