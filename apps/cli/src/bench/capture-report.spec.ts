import { describe, expect, it } from 'vitest';
import {
  type CaptureBenchReport,
  formatCpu,
  mdTable,
  renderCaptureSection,
  renderCaptureSummary,
  upsertSection,
  type WriterPhase,
  wrap,
  writerFigures,
  writerPair,
} from './capture-report';

const capture = {
  notifications: 300_000,
  coalesced: 1_200,
  events: 298_800,
  drainMs: 420,
  fenced: true,
  gaps: 0,
  reconciledKeys: 0,
};

const report: CaptureBenchReport = {
  bench: 'capture',
  schemaVersion: 1,
  command: 'node bin/cdc.js bench capture --duration 20',
  startedAt: '2026-11-22T14:00:00.000Z',
  finishedAt: '2026-11-22T14:03:00.000Z',
  host: { cpus: 2, cpuModel: 'Test CPU', node: 'v20.20.2', redis: '7.0.15', kafka: '3.9.1' },
  settings: {
    durationS: 20,
    warmupS: 5,
    leadInS: 2,
    clients: 32,
    keys: 10_000,
    valueBytes: 32,
    pairs: 2,
    burstKeys: 200_000,
    captureMode: 'child-process',
    captureMain: 'dist/apps/capture/main.js',
    captureBuiltAt: '2026-11-22T13:55:00.000Z',
    captureBatchSize: 500,
    notifyFlags: 'Eg$lshzxet',
    topic: 'cdc.bench-abc123.changes',
    partitions: 6,
  },
  stack: { stateDir: '/repo/.cdc/bench-stack', reused: false },
  writer: {
    phases: [
      {
        name: 'A1',
        setup: 'off',
        capture: false,
        writes: 500_000,
        elapsedMs: 20_000,
        writesPerS: 25_000,
        cpu: { box: 1.5 },
        redisUsPerWrite: 14,
      },
      {
        name: 'B1',
        setup: 'capture',
        capture: true,
        writes: 460_000,
        elapsedMs: 20_000,
        writesPerS: 23_000,
        latencyP50Ms: 1.2,
        latencyP99Ms: 4.5,
        captureStats: capture,
        cpu: { kafka: 0.2, capture: 0.5, box: 1.97, bench: 0.9, redis: 0.37 },
        redisUsPerWrite: 20,
      },
    ],
    pairs: [{ pair: 1, withoutPerS: 25_000, withPerS: 23_000, ratio: 0.92, redisCapacityRatio: 0.7 }],
    medianRatio: 0.92,
    medianRedisCapacityRatio: 0.7,
    target: 0.9,
    pass: true,
  },
  ceiling: {
    keys: 200_000,
    writeMs: 1_500,
    writesPerS: 133_333,
    captureMs: 8_000,
    eventsPerS: 25_000,
    expectedEvents: 200_000,
    topicEvents: 200_000,
    complete: true,
    notifications: 200_000,
    coalesced: 0,
    events: 200_000,
    gaps: 0,
    reconciledKeys: 0,
    cpu: { capture: 0.9, box: 2 },
    captureCpuUsPerEvent: 36,
  },
  loss: {
    keysChecked: 10_000,
    lost: 0,
    lostSample: [],
    messagesConsumed: 1_000_000,
    burstKeysChecked: 200_000,
    burstKeysMissing: 0,
    burstMissingSample: [],
  },
  reportFile: '.cdc/bench/capture-2026-11-22T14-00-00Z.json',
  notes: ['2 cores are shared.'],
};

describe('formatCpu', () => {
  it('puts the box first, then our processes in a fixed order', () => {
    expect(formatCpu({ kafka: 0.2, capture: 0.5, box: 1.97, bench: 0.9, redis: 0.374 })).toBe(
      'box 1.97 | bench 0.90, redis 0.37, capture 0.50, kafka 0.20',
    );
    expect(formatCpu({ zz: 0.1, bench: 1 })).toBe('bench 1.00, zz 0.10');
  });
});

describe('renderCaptureSummary', () => {
  it('shows every phase, the pairs, the median against the target, the ceiling and the loss check', () => {
    const text = renderCaptureSummary(report);
    expect(text).toMatch(/A1 +off +25\.0k\/s +p50 n\/a/);
    expect(text).toMatch(/B1 +capture +23\.0k\/s/);
    expect(text).not.toContain('bare subscriber');
    expect(text).toContain('A1  box 1.50\n');
    expect(text).toContain('1,200 coalesced');
    expect(text).toContain(
      'pair 1: 23.0k/s / 25.0k/s = 0.920×; Redis CPU per write 14.0 µs -> 20.0 µs, capacity kept 0.700×',
    );
    expect(text).toContain('median ratio 0.920× (target ≥ 0.90×): pass');
    expect(text).toContain('200,000 of 200,000 events in the topic after 8,000 ms: 25.0k/s');
    expect(text).toContain('capture 36 µs of CPU per event');
    expect(text).toContain('0 lost of 10,000 keys checked');
    expect(text).toContain('note: 2 cores are shared.');
    expect(text).toContain('Report: .cdc/bench/capture-2026-11-22T14-00-00Z.json');
  });

  it('says FAIL when a key was lost or the ratio is below target', () => {
    const bad: CaptureBenchReport = {
      ...report,
      writer: { ...report.writer, medianRatio: 0.5, pass: false },
      loss: { ...report.loss, lost: 1, lostSample: [{ key: 'k', expected: '0:9:', last: '0:8:' }] },
    };
    const text = renderCaptureSummary(bad);
    expect(text).toContain('(target ≥ 0.90×): FAIL');
    expect(text).toMatch(/1 lost of 10,000 keys checked.*FAIL/);
    expect(text).toContain('lost: k expected "0:9:", last event "0:8:"');
  });
});

describe('renderCaptureSection', () => {
  it('is a "## Capture" section with the command, the date and the figures', () => {
    const md = renderCaptureSection(report);
    const flat = md.replace(/\n(?!\n|\||- )/g, ' '); // undo the prose wrapping
    expect(md.startsWith('## Capture\n')).toBe(true);
    expect(flat).toContain('`node bin/cdc.js bench capture --duration 20` on 2026-11-22');
    expect(md).toMatch(
      /\| B1 +\| capture +\| +23\.0k\/s \| +1\.200 ms \| +4\.500 ms \| +300,000 \| +1,200 \| +298,800 \| +0 \| +420 ms \|/,
    );
    expect(md).toMatch(
      /\| 1 +\| +25\.0k\/s \| +23\.0k\/s \| +0\.920× \| +14\.0 µs → 20\.0 µs \| +0\.700× \|/,
    );
    expect(flat).toContain('Median ratio: **0.920×** (target ≥ 0.90×: pass)');
    expect(flat).toContain('Redis capacity kept, median: 0.700×');
    expect(flat).toContain('**25.0k/s**');
    expect(flat).toContain('36 µs of CPU per event');
    expect(flat).toContain('**0 lost of 10,000 keys checked**');
    expect(md).toMatch(/\| burst +\| +2\.00 \| +– \| +– \| +0\.90 \|/);
    expect(md).not.toMatch(/\n## (?!Capture)/);
  });

  it('is already formatted the way Prettier formats Markdown, lines within 110 columns', async () => {
    const { format } = await import('prettier');
    const doc = `# Benchmarks\n\nIntro.\n\n${renderCaptureSection(report)}`;
    expect(await format(doc, { parser: 'markdown', printWidth: 110, singleQuote: true })).toBe(doc);
    for (const line of doc.split('\n').filter((l) => !l.startsWith('|')))
      expect(line.length).toBeLessThanOrEqual(110);
  });
});

/** The same run with an N phase (bare subscriber) in its pair. */
const floorPhase: WriterPhase = {
  name: 'N1',
  setup: 'subscriber',
  capture: false,
  writes: 440_000,
  elapsedMs: 20_000,
  writesPerS: 22_000,
  cpu: { box: 1.9, subscriber: 0.12 },
  redisUsPerWrite: 15,
};
const withFloor: CaptureBenchReport = {
  ...report,
  settings: { ...report.settings, floorPhases: true },
  writer: {
    ...report.writer,
    phases: [report.writer.phases[0] as WriterPhase, floorPhase, report.writer.phases[1] as WriterPhase],
    pairs: [
      { ...(report.writer.pairs[0] as (typeof report.writer.pairs)[0]), floorPerS: 22_000, floorRatio: 0.88 },
    ],
    medianFloorRatio: 0.88,
  },
};

describe('the floor (N phases)', () => {
  it('is in the summary: the phase, the pair and the median', () => {
    const text = renderCaptureSummary(withFloor);
    expect(text).toContain('N: notifications on, a bare subscriber that reads nothing');
    expect(text).toMatch(/N1 +subscriber +22\.0k\/s/);
    expect(text).toContain('N1  box 1.90 | subscriber 0.12');
    expect(text).toContain('pair 1: 23.0k/s / 25.0k/s = 0.920×; bare subscriber 22.0k/s = 0.880×');
    expect(text).toContain('floor (bare subscriber) 0.880×');
  });

  it('adds the N columns to the pair table of the docs section, still Prettier-formatted', async () => {
    const md = renderCaptureSection(withFloor);
    const flat = md.replace(/\n(?!\n|\||- )/g, ' ');
    expect(md).toMatch(
      /\| pair \| off \(A\) \| bare subscriber \(N\) \| capture \(B\) \| floor N ÷ A \| ratio B ÷ A \|/,
    );
    expect(md).toMatch(/\| 1 +\| +25\.0k\/s \| +22\.0k\/s \| +23\.0k\/s \| +0\.880× \| +0\.920× \|/);
    expect(flat).toContain('Floor, median N ÷ A: **0.880×**');
    const { format } = await import('prettier');
    const doc = `# Benchmarks\n\n${md}`;
    expect(await format(doc, { parser: 'markdown', printWidth: 110, singleQuote: true })).toBe(doc);
  });
});

/** The same run read from a replica: a P phase (capture on the primary of the same topology) in its pair. */
const primaryPhase: WriterPhase = {
  name: 'P1',
  setup: 'capture-primary',
  capture: true,
  writes: 400_000,
  elapsedMs: 20_000,
  writesPerS: 20_000,
  captureStats: capture,
  cpu: { box: 1.95, redis: 0.6, 'redis-replica': 0.2, capture: 0.5 },
  redisUsPerWrite: 30,
};
const fromReplica: CaptureBenchReport = {
  ...report,
  command: 'node bin/cdc.js bench capture --read-from replica',
  settings: { ...report.settings, readFrom: 'replica' },
  writer: {
    ...report.writer,
    phases: [
      { ...(report.writer.phases[0] as WriterPhase), redisUsPerWrite: 3.3 },
      { ...(report.writer.phases[1] as WriterPhase), redisUsPerWrite: 3.4, replicaUsPerWrite: 9.1 },
      primaryPhase,
    ],
    pairs: [
      {
        ...(report.writer.pairs[0] as (typeof report.writer.pairs)[0]),
        redisCapacityRatio: 0.97,
        primaryMode: { withPerS: 20_000, ratio: 0.8, redisCapacityRatio: 0.11 },
      },
    ],
    medianRedisCapacityRatio: 0.97,
    medianPrimaryModeRatio: 0.8,
    medianPrimaryModeCapacityRatio: 0.11,
    capacityTarget: 0.95,
    capacityPass: true,
  },
};

describe('a run read from a replica (P phases, the primary capacity kept)', () => {
  it('says in the summary what the primary kept in both modes, against the 0.95× target', () => {
    const text = renderCaptureSummary(fromReplica);
    expect(text).toContain('cdc bench capture --read-from replica');
    expect(text).toMatch(/P1 +capture-primary +20\.0k\/s/);
    expect(text).toContain(
      'capture on the primary 20.0k/s = 0.800×; primary CPU per write A 3.3 µs, B 3.4 µs, P 30.0 µs',
    );
    expect(text).toContain(
      'Primary capacity kept with capture on the replica (primary CPU per write A ÷ B), median 0.970× (target ≥ 0.95×): pass',
    );
    expect(text).toContain('with capture on the primary (A ÷ P): 0.110×');
    expect(
      renderCaptureSummary({ ...fromReplica, writer: { ...fromReplica.writer, capacityPass: false } }),
    ).toMatch(/target ≥ 0\.95×\): FAIL/);
  });

  it('is its own docs section, with the P columns, still Prettier-formatted', async () => {
    const md = renderCaptureSection(fromReplica);
    expect(md.startsWith('## Capture from a replica\n')).toBe(true);
    expect(md).toMatch(
      /\| primary capacity kept \(B\) \| capture on the primary: P ÷ A \| primary capacity kept \(P\) \|/,
    );
    expect(md).toMatch(/\| +0\.970× \| +0\.800× \| +0\.110× \|/);
    expect(md).toMatch(/\| P1 +\| 1\.95 \|/);
    const { format } = await import('prettier');
    const doc = `# Benchmarks\n\n${md}`;
    expect(await format(doc, { parser: 'markdown', printWidth: 110, singleQuote: true })).toBe(doc);
    // A primary-mode run replaces "## Capture" and leaves this one alone.
    const both = upsertSection(
      upsertSection('# B\n', 'Capture', renderCaptureSection(report)),
      'Capture from a replica',
      md,
    );
    expect(upsertSection(both, 'Capture', renderCaptureSection(report))).toBe(both);
  });

  it('writerPair adds the P phase: its ratio to A and the primary capacity it kept', () => {
    const ph = (name: string, writesPerS: number, redisUsPerWrite: number): WriterPhase => ({
      name,
      setup: 'off',
      capture: false,
      writes: writesPerS,
      elapsedMs: 1000,
      writesPerS,
      cpu: {},
      redisUsPerWrite,
    });
    const p = writerPair(1, ph('A1', 100, 3), ph('B1', 90, 3.1), undefined, ph('P1', 50, 7.5));
    expect(p.primaryMode).toEqual({ withPerS: 50, ratio: 0.5, redisCapacityRatio: 0.4 });
    expect(writerFigures([p]).medianPrimaryModeCapacityRatio).toBeCloseTo(0.4, 12);
  });
});

describe('writerPair / writerFigures', () => {
  const phase = (name: string, writesPerS: number, redisUsPerWrite?: number): WriterPhase => ({
    name,
    setup: 'off',
    capture: false,
    writes: writesPerS,
    elapsedMs: 1000,
    writesPerS,
    cpu: {},
    ...(redisUsPerWrite ? { redisUsPerWrite } : {}),
  });

  it('divides B and N by A, and Redis µs per write of A by B', () => {
    const p = writerPair(2, phase('A2', 100, 10), phase('B2', 40, 20), phase('N2', 90));
    expect(p).toEqual({
      pair: 2,
      withoutPerS: 100,
      withPerS: 40,
      ratio: 0.4,
      floorPerS: 90,
      floorRatio: 0.9,
      redisCapacityRatio: 0.5,
    });
    expect(writerPair(1, phase('A1', 100), phase('B1', 50))).toEqual({
      pair: 1,
      withoutPerS: 100,
      withPerS: 50,
      ratio: 0.5,
    });
  });

  it('takes medians, and leaves out a figure that only some pairs have', () => {
    const a = writerPair(1, phase('A1', 100, 10), phase('B1', 40, 20), phase('N1', 80));
    const b = writerPair(2, phase('A2', 100, 10), phase('B2', 60, 40), phase('N2', 90));
    const c = writerPair(3, phase('A3', 100), phase('B3', 50));
    const two = writerFigures([a, b]);
    expect(two.medianRatio).toBeCloseTo(0.5, 12);
    expect(two.medianRedisCapacityRatio).toBeCloseTo(0.375, 12);
    expect(two.medianFloorRatio).toBeCloseTo(0.85, 12);
    expect(writerFigures([a, b, c])).toEqual({ medianRatio: 0.5 });
  });
});

describe('wrap', () => {
  it('fills lines up to the width and never breaks an inline code span', () => {
    expect(wrap('aa bb cc dd', 5)).toEqual(['aa bb', 'cc dd']);
    expect(wrap('run `a b c d` now', 6)).toEqual(['run', '`a b c d`', 'now']);
    expect(wrap('one two three', 9, '- ', '  ')).toEqual(['- one two', '  three']);
  });
});

describe('mdTable', () => {
  it('pads columns and marks right alignment', () => {
    expect(
      mdTable(
        ['a', 'rate'],
        ['l', 'r'],
        [
          ['x', '1'],
          ['long', '22'],
        ],
      ),
    ).toEqual(['| a    | rate |', '| ---- | ---: |', '| x    |    1 |', '| long |   22 |']);
  });
});

describe('upsertSection', () => {
  const section = '## Capture\n\nnew figures\n';

  it('replaces the section and keeps the others', () => {
    const doc = '# Benchmarks\n\nintro\n\n## Capture\n\nold figures\n\n## Foundation\n\nkept\n';
    expect(upsertSection(doc, 'Capture', section)).toBe(
      '# Benchmarks\n\nintro\n\n## Capture\n\nnew figures\n\n## Foundation\n\nkept\n',
    );
  });

  it('replaces a last section up to the end of the document', () => {
    const doc = '# B\n\n## Other\n\nx\n\n## Capture\n\nold\n';
    expect(upsertSection(doc, 'Capture', section)).toBe(
      '# B\n\n## Other\n\nx\n\n## Capture\n\nnew figures\n',
    );
  });

  it('inserts before the first other section, or appends', () => {
    expect(upsertSection('# B\n\nintro\n\n## Foundation\n\nkept\n', 'Capture', section)).toBe(
      '# B\n\nintro\n\n## Capture\n\nnew figures\n\n## Foundation\n\nkept\n',
    );
    expect(upsertSection('# B\n\nintro\n', 'Capture', section)).toBe(
      '# B\n\nintro\n\n## Capture\n\nnew figures\n',
    );
  });

  it('does not take "## Capture ceiling" for "## Capture"', () => {
    const doc = '# B\n\n## Capture ceiling\n\nother\n';
    expect(upsertSection(doc, 'Capture', section)).toBe(
      '# B\n\n## Capture\n\nnew figures\n\n## Capture ceiling\n\nother\n',
    );
  });
});
