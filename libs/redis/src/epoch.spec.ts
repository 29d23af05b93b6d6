import { composeVersion, compareVersion } from '@cdc/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EpochMarker, judgeEpoch, parseMarker, type ReadMode } from './epoch';

const marker = (epoch: bigint, mode: ReadMode = 'replica', replid = 'aa'): EpochMarker => ({
  epoch,
  mode,
  replid,
});
const read = (replid = 'aa', position = '100') => ({ replid, position });

describe('parseMarker', () => {
  it('reads "<epoch>:<mode>:<replid>" and refuses anything else', () => {
    expect(parseMarker('1796528890092284:replica:d1109291259ff9d72b6e833d90082bd8add16483')).toEqual({
      epoch: 1796528890092284n,
      mode: 'replica',
      replid: 'd1109291259ff9d72b6e833d90082bd8add16483',
    });
    expect(parseMarker(Buffer.from('7:primary:'))).toEqual({ epoch: 7n, mode: 'primary', replid: '' });
    for (const bad of [null, '', '7', '7:both:aa', 'x:replica:aa', '7:replica:zz'])
      expect(parseMarker(bad)).toBeNull();
  });
});

describe('judgeEpoch', () => {
  it('versions a read under a marker of its own mode, history and at least its floor', () => {
    expect(judgeEpoch(marker(9n), 'replica', read(), 9n)).toEqual({ ok: true, epoch: 9n });
    expect(judgeEpoch(marker(9n, 'primary', 'bb'), 'primary', read('bb'), 3n)).toEqual({
      ok: true,
      epoch: 9n,
    });
  });

  it('raises with no marker, another mode’s marker, or another history’s', () => {
    expect(judgeEpoch(null, 'replica', read(), 0n)).toMatchObject({ problem: 'no-marker', action: 'raise' });
    expect(judgeEpoch(marker(9n, 'primary'), 'replica', read(), 0n)).toMatchObject({
      problem: 'mode-conflict',
      action: 'raise',
    });
    expect(judgeEpoch(marker(9n, 'replica'), 'primary', read(), 0n)).toMatchObject({
      problem: 'mode-conflict',
    });
    expect(judgeEpoch(marker(9n, 'replica', 'aa'), 'replica', read('bb'), 0n)).toMatchObject({
      problem: 'history-changed',
      action: 'raise',
    });
  });

  it('waits on a replica that has not replayed our raise yet; raises again on the primary', () => {
    expect(judgeEpoch(marker(8n), 'replica', read(), 9n)).toMatchObject({
      problem: 'behind',
      action: 'wait',
    });
    expect(judgeEpoch(marker(8n, 'primary'), 'primary', read(), 9n)).toMatchObject({
      problem: 'behind',
      action: 'raise',
    });
  });

  it('raises when the primary-mode counter is gone but the marker is not', () => {
    expect(judgeEpoch(marker(9n, 'primary'), 'primary', read('aa', ''), 0n)).toMatchObject({
      problem: 'no-counter',
      action: 'raise',
    });
  });

  it('on the primary too, a new replication ID (a failover, a restart) forces a raise: the clock may be another host’s', () => {
    expect(judgeEpoch(marker(9n, 'primary', 'aa'), 'primary', read('bb'), 0n)).toMatchObject({
      problem: 'history-changed',
      action: 'raise',
    });
  });

  it('never versions on a replica-mode reader whose offset no longer moves (a primary with no backlog)', () => {
    expect(judgeEpoch(marker(9n), 'replica', read('aa', ''), 0n)).toMatchObject({
      problem: 'no-offset',
      action: 'stop',
    });
  });

  /**
   * The argument of docs/architecture.md, as a model. The primary's history is a list of entries (writes of
   * one key, and epoch markers), each stamped with the clock when it was appended. A replica replays a prefix
   * of it; a read at a prefix sees the key as of that prefix's last entry. A failover forks a new history (new
   * replication ID) from a prefix of the old one: the tail is lost, and the key's state on the new primary is
   * the older one, which is the key's LATER state in real time. Two capture instances, each with its own floor,
   * read at random points and raise when judgeEpoch says so. Property: whenever a read reflects a later point
   * of the primary's timeline than another and sees a different state, its version is higher.
   */
  it('across failovers to lagging replicas, a later state never gets a lower version (property)', () => {
    type Op =
      { kind: 'write' } | { kind: 'read'; lag: number; instance: 0 | 1 } | { kind: 'failover'; lag: number };
    const op: fc.Arbitrary<Op> = fc.oneof(
      { arbitrary: fc.constant({ kind: 'write' as const }), weight: 4 },
      {
        arbitrary: fc.record({
          kind: fc.constant('read' as const),
          lag: fc.nat(3),
          instance: fc.constantFrom(0 as const, 1 as const),
        }),
        weight: 4,
      },
      { arbitrary: fc.record({ kind: fc.constant('failover' as const), lag: fc.nat(4) }), weight: 1 },
    );
    fc.assert(
      fc.property(fc.array(op, { maxLength: 80 }), fc.integer({ min: 1, max: 1_000 }), (ops, clockStart) => {
        type Entry = { t: bigint } & ({ write: number } | { marker: EpochMarker });
        let history: Entry[] = [];
        let replid = 'r0';
        let clock = BigInt(clockStart);
        let writes = 0;
        const floors = [0n, 0n];
        const issued: Array<{ t: bigint; state: number; version: bigint }> = [];
        const at = (n: number) => {
          let state = 0;
          let m: EpochMarker | null = null;
          for (const e of history.slice(0, n)) {
            if ('write' in e) state = e.write;
            else m = e.marker;
          }
          return { state, marker: m, t: n > 0 ? (history[n - 1] as Entry).t : 0n };
        };
        // RAISE_EPOCH: max(clock, current marker + 1, floor + 1), with the primary's replication ID.
        const raise = (instance: number) => {
          const current = at(history.length).marker;
          let e = clock;
          if (current && current.epoch >= e) e = current.epoch + 1n;
          if ((floors[instance] as bigint) + 1n > e) e = (floors[instance] as bigint) + 1n;
          history.push({ t: clock, marker: { epoch: e, mode: 'replica', replid } });
          floors[instance] = e;
        };
        for (const o of ops) {
          clock += 1n;
          if (o.kind === 'write') history.push({ t: clock, write: ++writes });
          else if (o.kind === 'failover') {
            history = history.slice(0, Math.max(0, history.length - o.lag));
            replid = `r${clock}`;
          } else {
            const position = Math.max(0, history.length - o.lag);
            const seen = at(position);
            const floor = floors[o.instance] as bigint;
            const verdict = judgeEpoch(seen.marker, 'replica', { replid, position: String(position) }, floor);
            if (!verdict.ok) {
              if (verdict.action === 'raise') raise(o.instance);
              continue;
            }
            if (verdict.epoch > floor) floors[o.instance] = verdict.epoch;
            issued.push({
              t: seen.t,
              state: seen.state,
              version: composeVersion(verdict.epoch, BigInt(position)),
            });
          }
        }
        for (const a of issued)
          for (const b of issued)
            if (b.t > a.t && b.state !== a.state) expect(compareVersion(b.version, a.version)).toBe('newer');
      }),
      {
        numRuns: 3000,
        examples: [
          [
            [
              { kind: 'write' },
              { kind: 'read', lag: 0, instance: 0 },
              { kind: 'write' },
              { kind: 'read', lag: 0, instance: 0 },
              { kind: 'failover', lag: 1 },
              { kind: 'write' },
              { kind: 'read', lag: 0, instance: 0 },
            ],
            5,
          ],
        ],
      },
    );
  });
});
