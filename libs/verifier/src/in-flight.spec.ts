import { describe, expect, it } from 'vitest';
import { judgeSuspect, type SuspectState } from './in-flight';

const T = 1_700_000_000_000;
/** A value mismatch seen at T on item version 5; capture alive and gap-free; the applier caught up. */
const caughtUp: SuspectState = {
  firstVersion: 5n,
  firstAt: T,
  latest: { class: 'value', version: 5n },
  mark: { partition: 2, end: 100n, at: T + 2_000 },
  progress: { committed: 100n, captureAliveAt: T + 2_500, captureGapFreeSince: T - 60_000 },
  now: T + 3_000,
  graceMs: 2_000,
  captureAliveWithinMs: 10_000,
  limitMs: 600_000,
};

describe('judgeSuspect: a mismatch is confirmed only once the pipeline passed it', () => {
  it('confirms a mismatch at the same item version once capture and the applier passed the mark', () => {
    expect(judgeSuspect(caughtUp)).toEqual({ kind: 'confirmed', class: 'value' });
    expect(judgeSuspect({ ...caughtUp, progress: { ...caughtUp.progress, committed: 250n } })).toMatchObject({
      kind: 'confirmed',
    });
  });

  it('a key that matches now is a match, whatever the pipeline', () => {
    expect(judgeSuspect({ ...caughtUp, latest: { class: 'match', version: 5n }, mark: null })).toEqual({
      kind: 'match',
    });
  });

  it('an item that moved on since the first look is superseded (the newer state is checked on its own)', () => {
    expect(judgeSuspect({ ...caughtUp, latest: { class: 'value', version: 6n } })).toEqual({
      kind: 'superseded',
    });
    expect(
      judgeSuspect({ ...caughtUp, firstVersion: null, latest: { class: 'value', version: 6n } }),
    ).toEqual({
      kind: 'superseded',
    });
    expect(judgeSuspect({ ...caughtUp, latest: { class: 'extra', version: null } })).toEqual({
      kind: 'superseded',
    });
  });

  it('the applier behind the mark keeps the key in flight, with the lag figures (the catch-up case)', () => {
    const j = judgeSuspect({ ...caughtUp, progress: { ...caughtUp.progress, committed: 40n } });
    expect(j).toEqual({
      kind: 'in-flight',
      waitingOn: 'applier',
      detail: 'applier on partition 2: committed 40, needs 100, 60 behind',
    });
    expect(judgeSuspect({ ...caughtUp, progress: { ...caughtUp.progress, committed: null } })).toMatchObject({
      kind: 'in-flight',
      waitingOn: 'applier',
    });
  });

  it('asks for a mark until one is taken after the grace period (and after any healed gap)', () => {
    expect(judgeSuspect({ ...caughtUp, mark: null })).toMatchObject({ kind: 'in-flight', waitingOn: 'mark' });
    const early = { ...caughtUp, mark: { partition: 2, end: 100n, at: T + 1_999 } };
    expect(judgeSuspect(early)).toMatchObject({ kind: 'in-flight', waitingOn: 'mark' });
    const healedLater = { ...caughtUp, progress: { ...caughtUp.progress, captureGapFreeSince: T + 2_100 } };
    expect(judgeSuspect(healedLater)).toMatchObject({ kind: 'in-flight', waitingOn: 'mark' });
  });

  it('a running capture that has not passed the read, or is healing a gap, keeps the key in flight', () => {
    const behind = { ...caughtUp, progress: { ...caughtUp.progress, captureAliveAt: T - 1 } };
    expect(judgeSuspect(behind)).toMatchObject({ kind: 'in-flight', waitingOn: 'capture' });
    const healing = { ...caughtUp, progress: { ...caughtUp.progress, captureGapFreeSince: null } };
    expect(judgeSuspect(healing)).toMatchObject({ kind: 'in-flight', waitingOn: 'capture' });
  });

  it('a stopped capture has nothing in flight: with the applier caught up the mismatch is confirmed', () => {
    const stopped = { captureAliveAt: T - 60_000, captureGapFreeSince: null, committed: 100n };
    expect(judgeSuspect({ ...caughtUp, progress: stopped })).toEqual({ kind: 'confirmed', class: 'value' });
    const never = { ...caughtUp, progress: { ...stopped, captureAliveAt: null } };
    expect(judgeSuspect(never)).toMatchObject({ kind: 'confirmed' });
  });

  it('unknown progress (Kafka unreachable) never confirms', () => {
    expect(judgeSuspect({ ...caughtUp, progress: { unknown: 'Kafka down' } })).toEqual({
      kind: 'in-flight',
      waitingOn: 'progress',
      detail: 'pipeline progress unknown: Kafka down',
    });
  });

  it('past the limit a key still in flight is reported stuck, with what it waits for', () => {
    const j = judgeSuspect({
      ...caughtUp,
      progress: { ...caughtUp.progress, committed: 40n },
      now: T + 600_001,
    });
    expect(j).toEqual({
      kind: 'stuck',
      waitingOn: 'applier',
      detail: 'in flight for 600 s (limit 600 s): applier on partition 2: committed 40, needs 100, 60 behind',
    });
    // A real mismatch is confirmed, not stuck, however late it is looked at.
    expect(judgeSuspect({ ...caughtUp, now: T + 10_000_000 })).toMatchObject({ kind: 'confirmed' });
  });
});
