import { describe, expect, it } from 'vitest';
import { upsertSection } from './capture-report';
import { medianFigures, roundFigures } from './verify-figures';
import {
  renderVerifySection,
  renderVerifySummary,
  type VerifyBenchReport,
  verifyBenchCorrect,
} from './verify-report';

const round = (n: number, verifyMs: number) => ({
  ...roundFigures({
    round: n,
    items: 10_000,
    rawScanMs: 2_000,
    keys: 10_000,
    rawRedisMs: 1_000,
    rawBothMs: 2_500,
    verifyItems: 10_000,
    verifyKeys: 10_000,
    verifyMs,
    mismatches: 0,
  }),
  verifyCpu: { box: 1.9, bench: 0.8, redis: 0.3, dynamodb: 0.7 },
});

const rounds = [round(1, 5_000), round(2, 4_000)];
const report: VerifyBenchReport = {
  bench: 'verify',
  schemaVersion: 1,
  command: 'node bin/cdc.js bench verify --keys 10000',
  startedAt: '2026-11-23T10:00:00.000Z',
  finishedAt: '2026-11-23T10:05:00.000Z',
  host: { cpus: 2, cpuModel: 'AMD EPYC', node: 'v20.20.2', redis: '7.0.15' },
  settings: {
    keys: 10_000,
    types: ['string', 'hash', 'list', 'set', 'zset'],
    collectionSize: 4,
    segments: 4,
    pageSize: 250,
    rounds: 2,
    table: 'bench_verify_abc',
    redisDb: 1,
    lagPerS: 50,
    lagSeconds: 20,
  },
  stack: { stateDir: '/repo/.cdc/bench-stack', reused: false, kept: false },
  loadMs: 12_000,
  rounds,
  median: medianFigures(rounds),
  lag: {
    table: 'bench_verify_abc_lag',
    offeredPerS: 50,
    seconds: 20,
    records: 1_000,
    verdicts: { match: 1_000 },
    unanswered: 0,
    lag: { count: 1_000, p50Ms: 310.2, p99Ms: 612.5, maxMs: 700 },
    lagMeanMs: 330.1,
    metricMeanMs: 329.8,
    metricCount: 1_001,
  },
  reportFile: '.cdc/bench/verify-2026-11-23T10-00-00Z.json',
  notes: ['2 cores are shared.'],
};

describe('renderVerifySection', () => {
  const section = renderVerifySection(report);
  const prose = section.replace(/\n(?!\|)/g, ' '); // wrapped lines joined back

  it('is the Verify section, with a row per round and the median ratios in bold', () => {
    expect(section.startsWith('## Verify\n')).toBe(true);
    expect(section).toMatch(/^\| 1 +\| .*0\.400×/m);
    expect(section).toMatch(/^\| 2 +\| .*0\.500×/m);
    // Median of the per-round ratios: (0.4 + 0.5) / 2 against the Scan, (0.5 + 0.625) / 2 against the floor.
    expect(prose).toContain('= **0.450×**');
    expect(prose).toContain('= **0.563×**');
  });

  it('states the lag as measured per record, and the run that produced it', () => {
    expect(prose).toContain('**p50 310.2 ms, p99 612.5 ms**');
    expect(prose).toContain('verdicts: 1,000 match.');
    expect(section).toContain('`node bin/cdc.js bench verify --keys 10000`');
    expect(section).toContain('- 2 cores are shared.');
  });

  it('keeps lines within 110 columns so Prettier leaves the docs alone', () => {
    for (const line of section.split('\n'))
      if (!line.startsWith('|')) expect(line.length).toBeLessThanOrEqual(110);
  });

  it('replaces only its own section of docs/benchmarks.md', () => {
    const doc = '# Benchmarks\n\n## Capture\n\ncapture text\n\n## Verify\n\nold\n\n## Notes\n\nkept\n';
    const out = upsertSection(doc, 'Verify', section);
    expect(out).toContain('capture text');
    expect(out).toContain('kept');
    expect(out).not.toContain('\nold\n');
    expect(out.indexOf('## Verify')).toBeGreaterThan(out.indexOf('## Capture'));
  });
});

describe('renderVerifySummary', () => {
  it('prints each round, the medians and the lag', () => {
    const text = renderVerifySummary(report);
    expect(text).toContain('round 1:');
    expect(text).toContain('round 2:');
    expect(text).toMatch(/median: verify .* = 0\.450×/);
    expect(text).toContain('p50 310.2 ms, p99 612.5 ms');
  });
});

describe('verifyBenchCorrect', () => {
  it('holds when nothing mismatched and every record matched', () => {
    expect(verifyBenchCorrect(report)).toBe(true);
  });

  it('fails on a mismatch, a non-match verdict or a record without a verdict', () => {
    expect(verifyBenchCorrect({ ...report, rounds: [{ ...round(1, 5_000), mismatches: 1 }] })).toBe(false);
    expect(
      verifyBenchCorrect({ ...report, lag: { ...report.lag, verdicts: { match: 999, value: 1 } } }),
    ).toBe(false);
    expect(verifyBenchCorrect({ ...report, lag: { ...report.lag, unanswered: 1 } })).toBe(false);
  });
});
