import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { eventToItem, type Item } from '@cdc/parity';
import { describe, expect, it } from 'vitest';
import type { Mark, Unknown } from '../in-flight';
import type { PipelineProgress, PipelineWatch } from '../pipeline-watch';
import type { SourceReader, SourceState } from '../source-read';
import { settle, type SettleDeps, type Suspect } from './recheck';

/**
 * The recheck loop with fakes for its three inputs (the table, Redis, the pipeline's offsets): the real ones are
 * exercised on the engines by test/e2e/verifier-lag.e2e-spec.ts and verify-scope.e2e-spec.ts.
 */
const TABLE = 't';
const WRITER = 'cdc-replicator/s';
const key = Buffer.from('k');
const itemAt = (value: string, version: bigint): Item =>
  eventToItem(
    {
      sourceId: 's',
      db: 0,
      key,
      op: 'UPSERT',
      value: { type: 'string', data: Buffer.from(value) },
      version,
      expireAt: null,
      event: 'set',
      origin: 'live',
      capturedAt: 1,
    },
    { writer: WRITER, appliedAt: 2, tombstoneTtlSeconds: 60 },
  );

function fakes(opts: { item: () => Item; redis: string; committed: () => bigint | Unknown }) {
  const dynamo = {
    send: () => Promise.resolve({ Responses: { [TABLE]: [opts.item()] } }),
  } as unknown as DynamoDBClient;
  const source = {
    read: (keys: readonly Buffer[]) =>
      Promise.resolve(
        keys.map((): SourceState => ({
          value: { type: 'string', data: Buffer.from(opts.redis) },
          expireAtMs: null,
          readAtMs: Date.now(),
          notCarried: null,
        })),
      ),
  } as unknown as SourceReader;
  const marks: Mark[] = [];
  const watch = {
    mark: (keys: readonly Buffer[]) => {
      const m = keys.map(() => ({ partition: 0, end: 10n, at: Date.now() }));
      marks.push(...m);
      return Promise.resolve(m);
    },
    progress: (): Promise<PipelineProgress | Unknown> => {
      const c = opts.committed();
      if (typeof c !== 'bigint') return Promise.resolve(c);
      return Promise.resolve({
        committed: new Map([[0, c]]),
        captureAliveAt: Date.now(),
        captureGapFreeSince: 0,
      });
    },
  } as unknown as PipelineWatch;
  const deps: SettleDeps = {
    dynamo,
    table: TABLE,
    source,
    writer: WRITER,
    graceMs: 5,
    watch,
    limitMs: 60_000,
    captureAliveWithinMs: 10_000,
    pollMs: 5,
  };
  return { deps, marks };
}

const suspect = (firstVersion: bigint): Suspect => ({ key, pk: 'k', firstVersion, firstAt: Date.now() });

describe('settle: the recheck loop', () => {
  it('waits for the applier to pass the mark, then confirms a mismatch at the same version', async () => {
    let committed = 3n;
    const { deps, marks } = fakes({
      item: () => itemAt('old', 5n),
      redis: 'new',
      committed: () => committed,
    });
    setTimeout(() => (committed = 10n), 60);
    const seen: string[] = [];
    const out = await settle(deps, [suspect(5n)], undefined, (_s, r) => seen.push(r.verdict));
    expect(out).toEqual([{ verdict: 'value', version: 5n }]);
    expect(seen).toEqual(['value']);
    expect(marks).toHaveLength(1); // one mark, kept while waiting
  });

  it('an applier that catches up with the newer state makes it a match, never a confirmed mismatch', async () => {
    let item = itemAt('old', 5n);
    const { deps } = fakes({ item: () => item, redis: 'new', committed: () => 3n });
    setTimeout(() => (item = itemAt('new', 6n)), 60);
    expect(await settle(deps, [suspect(5n)])).toEqual([{ verdict: 'match', version: 6n }]);
  });

  it('leaves a key in flight with the lag figures when the wait runs out', async () => {
    const { deps } = fakes({ item: () => itemAt('old', 5n), redis: 'new', committed: () => 3n });
    const [out] = (await settle({ ...deps, waitMs: 50 }, [suspect(5n)])) ?? [];
    expect(out).toEqual({
      verdict: 'in-flight',
      version: 5n,
      detail: 'applier on partition 0: committed 3, needs 10, 7 behind',
    });
  });

  it('reports a key stuck past the limit, and never confirms while Kafka cannot be read', async () => {
    const behind = fakes({ item: () => itemAt('old', 5n), redis: 'new', committed: () => 3n });
    const [stuck] = (await settle({ ...behind.deps, limitMs: 30 }, [suspect(5n)])) ?? [];
    expect(stuck).toMatchObject({ verdict: 'stuck', detail: expect.stringMatching(/^in flight for \d+ s/) });
    const down = fakes({
      item: () => itemAt('old', 5n),
      redis: 'new',
      committed: () => ({ unknown: 'down' }),
    });
    const [unknown] = (await settle({ ...down.deps, waitMs: 30 }, [suspect(5n)])) ?? [];
    expect(unknown).toMatchObject({ verdict: 'in-flight', detail: 'pipeline progress unknown: down' });
  });

  it('without a watch (a table the live applier does not feed) the grace alone decides', async () => {
    const { deps } = fakes({ item: () => itemAt('old', 5n), redis: 'new', committed: () => 3n });
    const { watch: _watch, ...graceOnly } = deps;
    expect(await settle(graceOnly, [suspect(5n)])).toEqual([{ verdict: 'value', version: 5n }]);
  });

  it('the scan follows an item that moved on to its newer state; the stream check leaves that to the newer record', async () => {
    let item = itemAt('old', 5n);
    let redis = 'new';
    const { deps } = fakes({ item: () => item, redis: 'unused', committed: () => 3n }); // the applier behind
    const source = {
      read: (keys: readonly Buffer[]) =>
        Promise.resolve(
          keys.map((): SourceState => ({
            value: { type: 'string', data: Buffer.from(redis) },
            expireAtMs: null,
            readAtMs: Date.now(),
            notCarried: null,
          })),
        ),
    } as unknown as SourceReader;
    // The item moves to v6 while Redis has already moved on to 'newer': a superseded first look.
    const moveOn = () => {
      item = itemAt('new', 6n);
      redis = 'newer';
    };
    setTimeout(moveOn, 20);
    const [stream] = (await settle({ ...deps, source, waitMs: 2_000 }, [suspect(5n)])) ?? [];
    expect(stream).toEqual({ verdict: 'in-flight', version: 5n });

    item = itemAt('old', 5n);
    redis = 'new';
    setTimeout(moveOn, 20);
    setTimeout(() => (item = itemAt('newer', 7n)), 120); // then the applier delivers the newest state
    const [scan] =
      (await settle({ ...deps, source, waitMs: 2_000, followSuperseded: true }, [suspect(5n)])) ?? [];
    expect(scan).toEqual({ verdict: 'match', version: 7n });
  });
});
