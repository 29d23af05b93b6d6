import { describe, expect, it } from 'vitest';
import {
  APPLIER_TARGETS,
  type ApplierBenchReport,
  applierVerdicts,
  type DrainPhase,
  renderApplierSection,
  renderApplierSummary,
} from './applier-report';
import { upsertSection } from './capture-report';

const drain = (name: string, perS: number, over: Partial<DrainPhase> = {}): DrainPhase => ({
  name,
  events: 20_000,
  complete: true,
  drain: { windowEvents: 16_000, windowMs: Math.round(16_000_000 / perS), eventsPerS: perS, commits: 6 },
  firstCommitMs: 2_100,
  outcomes: { applied: 20_000, stale: 0, duplicate: 0, coalesced: 0 },
  cpu: { box: 1.9, bench: 0.05, applier: 0.6, dynamodb: 1.1 },
  applierCpuUsPerEvent: 650,
  ...over,
});

const base = {
  bench: 'applier',
  schemaVersion: 1,
  command: 'node bin/cdc.js bench applier --events 20000',
  startedAt: '2026-11-22T16:00:00.000Z',
  finishedAt: '2026-11-22T16:04:00.000Z',
  host: { cpus: 2, cpuModel: 'Test CPU', node: 'v20.20.2', kafka: '3.9.1' },
  settings: {
    events: 20_000,
    warmup: 5_000,
    leadIn: 1_000,
    concurrency: 16,
    pairs: 2,
    zipfKeys: 10_000,
    zipfS: 1.1,
    durationS: 30,
    valueBytes: 32,
    partitions: 6,
    applierMain: 'dist/apps/applier/main.js',
    applierBuiltAt: '2026-11-22T15:50:00.000Z',
    captureMain: 'dist/apps/capture/main.js',
  },
  stack: { stateDir: '/repo/.cdc/bench-stack', reused: false, kept: false },
  raw: [
    {
      name: 'R1',
      leadIn: 1_000,
      items: 20_000,
      elapsedMs: 16_000,
      itemsPerS: 1_250,
      latencyP50Ms: 11,
      latencyP99Ms: 40,
      cpu: { box: 1.8 },
    },
    { name: 'R2', leadIn: 1_000, items: 20_000, elapsedMs: 20_000, itemsPerS: 1_000, cpu: { box: 1.8 } },
  ],
  applier: [drain('A1', 1_100), drain('A2', 850)],
  pairs: [
    { pair: 1, rawPerS: 1_250, applierPerS: 1_100, ratio: 0.88 },
    { pair: 2, rawPerS: 1_000, applierPerS: 850, ratio: 0.85 },
  ],
  medianRatio: 0.865,
  rawCeilingPerS: 1_125,
  applierCeilingPerS: 975,
  zipf: {
    keys: 10_000,
    s: 1.1,
    distinctKeys: 4_321,
    phase: drain('Z', 4_500, { outcomes: { applied: 4_000, stale: 10, duplicate: 0, coalesced: 15_990 } }),
    writes: 4_010,
    writesPerEvent: 0.2005,
    ceilingRatio: 4,
    check: { keysExpected: 4_321, itemsFound: 4_321, wrong: 0, extra: 0, sample: [] },
  },
  lag: {
    targetPerS: 488,
    offeredPerS: 487.6,
    leadInS: 5,
    durationS: 30,
    writes: 14_628,
    items: 14_628,
    missing: 0,
    lag: {
      endToEnd: { count: 14_628, p50Ms: 12.4, p99Ms: 61.2, maxMs: 180 },
      capture: { count: 14_628, p50Ms: 1.1, p99Ms: 9, maxMs: 30 },
      apply: { count: 14_628, p50Ms: 10.9, p99Ms: 55, maxMs: 170 },
      skipped: 0,
    },
    drainMs: 140,
    captureEvents: 14_628,
    outcomes: { applied: 14_628, stale: 0, duplicate: 0, coalesced: 0 },
    writesPerEvent: 1,
    cpu: { box: 1.7, capture: 0.2, applier: 0.4 },
  },
  targets: APPLIER_TARGETS,
  reportFile: '.cdc/bench/applier-2026-11-22T16-00-00Z.json',
  notes: ['2 cores are shared.'],
} as const;

const report: ApplierBenchReport = { ...base, verdicts: applierVerdicts(base) };

describe('applierVerdicts', () => {
  it('passes each target it meets', () => {
    expect(report.verdicts).toEqual({
      ratio: true,
      writesPerEvent: true,
      zipfCeiling: true,
      finalState: true,
      lagP50: true,
      lagP99: true,
      complete: true,
    });
  });

  it('fails a low ratio, too many writes, a wrong final state, a slow p99 and a lost lag write', () => {
    const v = applierVerdicts({
      ...base,
      medianRatio: 0.79,
      zipf: {
        ...base.zipf,
        writesPerEvent: 0.51,
        ceilingRatio: 0.9,
        check: { ...base.zipf.check, wrong: 1, sample: [{ pk: 'k', expected: '2 b', found: '1 a' }] },
      },
      lag: {
        ...base.lag,
        missing: 1,
        lag: { ...base.lag.lag, endToEnd: { count: 1, p50Ms: 16, p99Ms: 101 } },
      },
    });
    expect(v).toEqual({
      ratio: false,
      writesPerEvent: false,
      zipfCeiling: false,
      finalState: false,
      lagP50: false,
      lagP99: false,
      complete: false,
    });
  });

  it('treats an unmeasured lag as a failure, and an incomplete drain as incomplete', () => {
    const v = applierVerdicts({
      ...base,
      applier: [drain('A1', 1_000, { complete: false })],
      lag: { ...base.lag, lag: { ...base.lag.lag, endToEnd: { count: 0 } } },
    });
    expect(v.lagP50).toBe(false);
    expect(v.complete).toBe(false);
  });
});

describe('renderApplierSummary', () => {
  it('shows every phase, the pair ratios against the target, zipf, the final state and the lag', () => {
    const text = renderApplierSummary(report);
    expect(text).toMatch(/R1 +raw PutItem +1\.25k\/s/);
    expect(text).toMatch(/A2 +applier +850\/s/);
    expect(text).toContain('pair 1: 1.10k/s / 1.25k/s = 0.880×');
    expect(text).toContain('median ratio 0.865× (target ≥ 0.80×): pass');
    expect(text).toContain('DynamoDB writes per source event 0.201 (target ≤ 0.5): pass');
    expect(text).toContain('source events/s ÷ raw PutItem/s 4.000× (goal > 1×): reached');
    expect(text).toContain('4,321 items for 4,321 keys, 0 wrong, 0 extra: pass');
    expect(text).toContain('Redis write → item      p50 12.4 ms, p99 61.2 ms');
    expect(text).toContain('note: 2 cores are shared.');
  });

  it('lists wrong keys and says FAIL', () => {
    const bad = {
      ...base,
      medianRatio: 0.5,
      zipf: {
        ...base.zipf,
        check: { ...base.zipf.check, wrong: 1, sample: [{ pk: 'k7', expected: '9 v', found: null }] },
      },
    };
    const text = renderApplierSummary({ ...bad, verdicts: applierVerdicts(bad) });
    expect(text).toContain('median ratio 0.500× (target ≥ 0.80×): FAIL');
    expect(text).toContain('wrong: k7 expected "9 v", found nothing');
    expect(text).toContain('1 wrong, 0 extra: FAIL');
  });
});

describe('renderApplierSection', () => {
  it('is a "## Applier" section with the command, the tables and the verdicts', () => {
    const md = renderApplierSection(report);
    const flat = md.replace(/\n(?!\n|\|)/g, ' ');
    expect(md.startsWith('## Applier\n')).toBe(true);
    expect(flat).toContain('`node bin/cdc.js bench applier --events 20000` on 2026-11-22');
    expect(md).toMatch(/\| A1 +\| applier +\| +1\.10k\/s \|/);
    expect(md).toMatch(/\| 2 +\| +1\.00k\/s \| +850\/s \| 0\.850× \|/);
    expect(flat).toContain('Median ratio: **0.865×** (target ≥ 0.80×: pass)');
    expect(flat).toContain('**0.201** (target ≤ 0.5: pass)');
    expect(md).toMatch(/\| Redis write → item \(`appliedAt`\) +\| +12\.4 ms \| +61\.2 ms \| 180\.0 ms \|/);
    expect(md).toMatch(/\| A1 +\| +1\.90 \| +0\.05 \| +0\.60 \| +– \| +1\.10 \|/);
    expect(md).not.toMatch(/\n## (?!Applier)/);
  });

  it('is already formatted the way Prettier formats Markdown, lines within 110 columns', async () => {
    const { format } = await import('prettier');
    const doc = `# Benchmarks\n\nIntro.\n\n${renderApplierSection(report)}`;
    expect(await format(doc, { parser: 'markdown', printWidth: 110, singleQuote: true })).toBe(doc);
    for (const line of doc.split('\n').filter((l) => !l.startsWith('|')))
      expect(line.length).toBeLessThanOrEqual(110);
  });

  it('replaces its own section of docs/benchmarks.md and keeps the Capture one', () => {
    const doc = '# Benchmarks\n\n## Capture\n\ncapture figures\n\n## Applier\n\nold\n';
    const out = upsertSection(doc, 'Applier', renderApplierSection(report));
    expect(out).toContain('## Capture\n\ncapture figures\n');
    expect(out).not.toContain('\nold\n');
    expect(out).toContain('Median ratio: **0.865×**');
  });
});
