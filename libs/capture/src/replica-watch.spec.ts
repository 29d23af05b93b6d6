import { describe, expect, it } from 'vitest';
import { type ReaderSample, readerChanges, type WatchState } from './replica-watch';

const sample: ReaderSample = { runId: 'run1', role: 'slave', replid: 'h1', linkId: '36' };
const state = (last: ReaderSample = sample, lastLinkId: string | null = last.linkId): WatchState => ({
  last,
  lastLinkId,
});

describe('readerChanges', () => {
  it('nothing changes while the replica streams (same run, history and link)', () => {
    expect(readerChanges(state(), sample).changes).toEqual([]);
  });

  it('a partial resync keeps the link id: no gap, even with the link down in between', () => {
    const down = readerChanges(state(), { ...sample, linkId: null });
    expect(down.changes).toEqual([]);
    expect(down.state.lastLinkId).toBe('36');
    expect(readerChanges(down.state, sample).changes).toEqual([]);
  });

  it('a full resync makes a new link client: a gap, seen across a down link too', () => {
    expect(readerChanges(state(), { ...sample, linkId: '44' }).changes).toEqual(['full-resync']);
    const down = readerChanges(state(), { ...sample, linkId: null }).state;
    expect(readerChanges(down, { ...sample, linkId: '44' }).changes).toEqual(['full-resync']);
  });

  it('a restart (new run id) is its own gap and a new baseline', () => {
    const r = readerChanges(state(), { ...sample, runId: 'run2', linkId: '5' });
    expect(r.changes).toEqual(['replica-restart']);
    expect(r.state.lastLinkId).toBe('5');
  });

  it('a new replication ID is a history break; a promotion says so too', () => {
    expect(readerChanges(state(), { ...sample, replid: 'h2' }).changes).toEqual(['history-break']);
    expect(readerChanges(state(), { ...sample, role: 'master', replid: 'h2', linkId: null }).changes).toEqual(
      ['promoted', 'history-break'],
    );
  });
});
