import { describe, expect, it } from 'vitest';
import { machineTicks, procStatTicks } from './cpu';
import {
  formatCount,
  formatMs,
  formatRate,
  formatRatio,
  LatencyHistogram,
  median,
  promByLabel,
  promTotal,
  quantile,
  ratePerSecond,
} from './stats';
import { sequencedValue } from './writer';

describe('median', () => {
  it('takes the middle value, or the mean of the two middle ones', () => {
    expect(median([3, 1, 2])).toBe(2);
    expect(median([0.8, 0.95])).toBeCloseTo(0.875);
    expect(median([4, 1, 3, 2])).toBe(2.5);
    expect(median([7])).toBe(7);
  });

  it('is NaN for no values and leaves its input alone', () => {
    expect(median([])).toBeNaN();
    const input = [3, 1, 2];
    median(input);
    expect(input).toEqual([3, 1, 2]);
  });
});

describe('formatting', () => {
  it('formats ratios, rates, counts and durations', () => {
    expect(formatRatio(0.93456)).toBe('0.935×');
    expect(formatRatio(Number.NaN)).toBe('n/a');
    expect(formatRatio(Infinity)).toBe('n/a');
    expect(formatRate(740.4)).toBe('740/s');
    expect(formatRate(1_234)).toBe('1.23k/s');
    expect(formatRate(84_321)).toBe('84.3k/s');
    expect(formatRate(1_250_000)).toBe('1.25M/s');
    expect(formatCount(1_234_567)).toBe('1,234,567');
    expect(formatCount(999)).toBe('999');
    expect(formatMs(0.3124)).toBe('0.312 ms');
    expect(formatMs(12.44)).toBe('12.4 ms');
    expect(formatMs(undefined)).toBe('n/a');
  });

  it('computes rates per second', () => {
    expect(ratePerSecond(50_000, 2_000)).toBe(25_000);
    expect(ratePerSecond(10, 0)).toBe(0);
  });
});

describe('LatencyHistogram', () => {
  it('reports quantiles to the bucket width and merges', () => {
    const a = new LatencyHistogram();
    for (let i = 1; i <= 100; i++) a.record(i / 100); // 0.01 .. 1.00 ms
    expect(a.count).toBe(100);
    expect(a.quantile(0.5)).toBeCloseTo(0.51, 2); // upper edge of the 500-510 µs bucket
    expect(a.quantile(0.99)).toBeCloseTo(1.0, 2);
    const b = new LatencyHistogram();
    b.record(250); // past the last bucket: the max is reported
    a.merge(b);
    expect(a.count).toBe(101);
    expect(a.quantile(1)).toBe(250);
    expect(new LatencyHistogram().quantile(0.5)).toBeUndefined();
  });
});

describe('promTotal', () => {
  const exposition = [
    '# HELP cdc_capture_events_total Change events produced',
    '# TYPE cdc_capture_events_total counter',
    'cdc_capture_events_total{type="string",op="UPSERT",origin="live"} 120',
    'cdc_capture_events_total{type="none",op="DELETE",origin="live"} 3',
    'cdc_capture_events_total_other 999',
    'cdc_capture_coalesced_notifications_total 17 1700000000000',
  ].join('\n');

  it('sums every label set of one metric, ignoring longer names and timestamps', () => {
    expect(promTotal(exposition, 'cdc_capture_events_total')).toBe(123);
    expect(promTotal(exposition, 'cdc_capture_coalesced_notifications_total')).toBe(17);
    expect(promTotal(exposition, 'cdc_capture_gaps_total')).toBe(0);
  });
});

describe('/proc parsing', () => {
  it('reads utime + stime of a process whose name has spaces and parentheses', () => {
    const stat = '4242 (java (main) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 1500 250 0 0 20 0 40 0 1000';
    expect(procStatTicks(stat)).toBe(1750);
  });

  it('reads busy and total ticks of the machine', () => {
    expect(machineTicks('cpu  100 5 50 800 20 3 2 0 0 0\ncpu0 1 2 3')).toEqual({ busy: 160, total: 980 });
    expect(machineTicks('intr 1 2 3')).toBeUndefined();
  });
});

describe('sequencedValue', () => {
  it('carries the client and its sequence number, padded to the size', () => {
    expect(sequencedValue(3, 42, 12)).toBe('3:42:xxxxxxx');
    expect(sequencedValue(3, 42, 2)).toBe('3:42:');
  });
});

describe('quantile', () => {
  it('takes the nearest rank of unsorted values and leaves them alone', () => {
    const values = [5, 1, 4, 2, 3];
    expect(quantile(values, 0.5)).toBe(3);
    expect(quantile(values, 0)).toBe(1);
    expect(quantile(values, 1)).toBe(5);
    expect(quantile(values, 0.99)).toBe(5);
    expect(values).toEqual([5, 1, 4, 2, 3]);
    expect(quantile([], 0.5)).toBeUndefined();
  });
});

describe('promByLabel', () => {
  it('sums a metric per value of one label, whatever other labels and other metrics there are', () => {
    const text = [
      '# HELP cdc_applier_events_total Events by outcome',
      '# TYPE cdc_applier_events_total counter',
      'cdc_applier_events_total{outcome="applied"} 120',
      'cdc_applier_events_total{outcome="stale",table="t"} 3',
      'cdc_applier_events_total{table="u",outcome="stale"} 2',
      'cdc_applier_events_total_other{outcome="applied"} 999',
      'cdc_applier_events_total{code="x"} 7',
    ].join('\n');
    expect(promByLabel(text, 'cdc_applier_events_total', 'outcome')).toEqual({ applied: 120, stale: 5 });
    expect(promByLabel('', 'cdc_applier_events_total', 'outcome')).toEqual({});
  });
});
