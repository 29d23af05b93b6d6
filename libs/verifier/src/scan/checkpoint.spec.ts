import { describe, expect, it } from 'vitest';
import { LatestSaver, resumeProblem, type VerifyCheckpoint, type VerifyCheckpointStore } from './checkpoint';
import { emptyCounts } from './report';

const cp = (over: Partial<VerifyCheckpoint> = {}): VerifyCheckpoint => ({
  table: 't',
  match: null,
  segments: 4,
  startedAt: 0,
  dynamo: [],
  redis: { cursor: '0', done: false },
  counts: emptyCounts(),
  ...over,
});

describe('resumeProblem', () => {
  it('accepts the same table and pattern, with or without the same segment count given', () => {
    expect(resumeProblem(cp(), { table: 't', match: null })).toBeNull();
    expect(resumeProblem(cp(), { table: 't', match: null, segments: 4 })).toBeNull();
  });

  it('names the option that differs and the fix', () => {
    expect(resumeProblem(cp(), { table: 'u', match: null })).toMatch(/table t.*without --resume/);
    expect(resumeProblem(cp({ match: 'a:*' }), { table: 't', match: null })).toMatch(/--match a:\*/);
    expect(resumeProblem(cp(), { table: 't', match: null, segments: 2 })).toMatch(/--segments 4/);
  });
});

describe('LatestSaver', () => {
  it('never overlaps saves and always ends with the latest state', async () => {
    const saved: number[] = [];
    let active = 0;
    let maxActive = 0;
    const store: VerifyCheckpointStore = {
      load: () => Promise.resolve(null),
      clear: () => Promise.resolve(),
      save: async (c) => {
        maxActive = Math.max(maxActive, ++active);
        await new Promise((r) => setTimeout(r, 5));
        saved.push(c.startedAt);
        active--;
      },
    };
    const saver = new LatestSaver(store);
    for (let i = 1; i <= 5; i++) saver.save(cp({ startedAt: i }));
    await saver.flush();
    expect(maxActive).toBe(1);
    expect(saved[0]).toBe(1);
    expect(saved.at(-1)).toBe(5);
    expect(saved.length).toBeLessThan(5); // the middle requests collapsed
  });
});
