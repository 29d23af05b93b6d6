import { composeVersion, compareVersion } from '@cdc/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type EpochMarker, judgeEpoch } from './epoch';

/**
 * The cluster argument of docs/architecture.md ("Versions in a Redis Cluster"), as a model. One slot: one key,
 * its epoch marker (a key of the same slot). Each shard has its own history (replication offsets that do not
 * compare across shards), its own replication ID and its own clock (skewed by up to ±1 s against the others).
 * The slot migrates between shards: MIGRATE copies the key and the marker to the target, in either order, and
 * deletes them on the source; then ownership flips. A read runs on a node of some shard at a prefix of that
 * shard's history (a lagging replica); a key that is not there reads as a redirect (the reader sends it round
 * again, cluster-read.ts) and is not versioned. A raise is written on the slot's current owner. Failovers fork
 * a shard's history from a prefix. Property: a read that sees a later state than another gets a higher version.
 */

type Entry = { t: bigint } & ({ write: number } | { marker: EpochMarker | null } | { gone: true });

interface Shard {
  history: Entry[];
  replid: string;
  readonly skew: bigint;
}

type Op =
  | { kind: 'write' }
  | { kind: 'read'; shard: number; lag: number }
  | { kind: 'migrate'; to: number; markerFirst: boolean }
  | { kind: 'failover'; lag: number };

const SHARDS = 3;

const op: fc.Arbitrary<Op> = fc.oneof(
  { arbitrary: fc.constant({ kind: 'write' as const }), weight: 4 },
  {
    arbitrary: fc.record({
      kind: fc.constant('read' as const),
      shard: fc.nat(SHARDS - 1),
      lag: fc.nat(3),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      kind: fc.constant('migrate' as const),
      to: fc.nat(SHARDS - 1),
      markerFirst: fc.boolean(),
    }),
    weight: 2,
  },
  { arbitrary: fc.record({ kind: fc.constant('failover' as const), lag: fc.nat(3) }), weight: 1 },
);

/** The key's state and the marker as of the first `n` entries of a shard's history. */
function stateAt(history: readonly Entry[], n: number) {
  let state: number | null = null;
  let marker: EpochMarker | null = null;
  for (const e of history.slice(0, n)) {
    if ('write' in e) state = e.write;
    else if ('marker' in e) marker = e.marker;
    else state = null;
  }
  return { state, marker, t: n > 0 ? (history[n - 1] as Entry).t : 0n };
}

describe('versions in a Redis Cluster (property)', () => {
  it('across slot migrations in either order, skewed clocks and failovers, a later state never gets a lower version', () => {
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 5, maxLength: 40, size: 'max' }),
        fc.array(fc.integer({ min: -1_000, max: 1_000 }), { minLength: SHARDS, maxLength: SHARDS }),
        (ops, skews) => {
          const shards: Shard[] = skews.map((s, i) => ({ history: [], replid: `s${i}`, skew: BigInt(s) }));
          let owner = 0;
          let clock = 2_000n;
          let writes = 0;
          let floor = 0n; // one capture process: the slot's EpochKeeper
          const issued: Array<{ t: bigint; state: number; version: bigint }> = [];
          const ownerShard = () => shards[owner] as Shard;
          // RAISE_EPOCH on the slot's owner: max(its clock, its marker + 1, floor + 1), with its replication ID.
          const raise = () => {
            const s = ownerShard();
            const current = stateAt(s.history, s.history.length).marker;
            let e = clock + s.skew;
            if (current && current.epoch >= e) e = current.epoch + 1n;
            if (floor + 1n > e) e = floor + 1n;
            s.history.push({ t: clock, marker: { epoch: e, mode: 'replica', replid: s.replid } });
            floor = e;
          };
          for (const o of ops) {
            clock += 1n;
            const s = ownerShard();
            if (o.kind === 'write') s.history.push({ t: clock, write: ++writes });
            else if (o.kind === 'failover') {
              s.history = s.history.slice(0, Math.max(0, s.history.length - o.lag));
              s.replid = `${s.replid}.${clock}`;
            } else if (o.kind === 'migrate') {
              if (o.to === owner) continue;
              const target = shards[o.to] as Shard;
              const now = stateAt(s.history, s.history.length);
              const copies: Entry[] = [
                ...(now.state !== null ? [{ t: clock, write: now.state }] : []),
                { t: clock, marker: now.marker },
              ];
              target.history.push(...(o.markerFirst ? copies.reverse() : copies));
              s.history.push({ t: clock, gone: true }, { t: clock, marker: null });
              owner = o.to;
            } else {
              const at = shards[o.shard] as Shard;
              const position = Math.max(0, at.history.length - o.lag);
              const seen = stateAt(at.history, position);
              if (seen.state === null) continue; // not on this node: a redirect, read again elsewhere
              const verdict = judgeEpoch(
                seen.marker,
                'replica',
                { replid: at.replid, position: `${position}` },
                floor,
              );
              if (!verdict.ok) {
                if (verdict.action === 'raise') raise();
                continue;
              }
              if (verdict.epoch > floor) floor = verdict.epoch;
              issued.push({
                t: seen.t,
                state: seen.state,
                version: composeVersion(verdict.epoch, BigInt(position)),
              });
            }
          }
          for (const a of issued)
            for (const b of issued)
              if (b.t > a.t && b.state !== a.state)
                expect(compareVersion(b.version, a.version)).toBe('newer');
        },
      ),
      { numRuns: 3000 },
    );
  });
});
