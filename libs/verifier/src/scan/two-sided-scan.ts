import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CdcConfig } from '@cdc/config';
import { ATTR, decodeText, type Item, keyToPk, type RedisState } from '@cdc/parity';
import {
  type ControlClient,
  controlKeys,
  isInternalKey,
  type KeyReader,
  readRunId,
  scanStep,
  type SourceAccess,
  VersionedReader,
} from '@cdc/redis';
import type Redis from 'ioredis';
import type { Verdict } from '../parity-ledger';
import { check, safeState } from '../record-check';
import { LatestSaver, resumeProblem, type VerifyCheckpoint, type VerifyCheckpointStore } from './checkpoint';
import { globMatcher } from './glob';
import { itemVersion, readRedis, recheck, type Suspect } from './recheck';
import {
  buildReport,
  emptyCounts,
  mergeCounts,
  recordVerdict,
  type ScanCounts,
  type ScanReport,
  toScanSummary,
} from './report';
import { batchGetItems, scanPage } from './table-reads';

export interface TwoSidedScanDeps {
  readonly dynamo: DynamoDBClient;
  /** The primary (or a cluster client): the scan's summary for `cdc status` is written here. */
  readonly redis: ControlClient;
  /**
   * Where keys are scanned (REDIS_READ_FROM: a replica spares the primary; a cluster: one node per shard,
   * scanned in turn); default the `redis` connection.
   */
  readonly nodes?: () => readonly Redis[];
  /** Versioned reads where capture reads (SourceAccess.reader); default: on the first node. */
  readonly versioned?: KeyReader;
  readonly sourceId: string;
  readonly table: string;
  /** The replicator's signature: items written by anyone else are `foreign`. */
  readonly writer: string;
  readonly graceMs: number;
}

export interface TwoSidedScanOptions {
  /** DynamoDB parallel-scan segments, scanned concurrently (default 4; on resume, the checkpoint's). */
  readonly segments?: number;
  readonly match?: string;
  /** Items per Scan page and SCAN COUNT hint (default 250): also the checkpoint granularity. */
  readonly pageSize?: number;
  /** Waits before `units` more items/keys are read (a rate limiter); an abort must end the wait. */
  readonly throttle?: (units: number, signal?: AbortSignal) => Promise<void>;
  /** Re-captures confirmed mismatches through the log; returns how many events were produced. */
  readonly repair?: (keys: Buffer[]) => Promise<number>;
  readonly checkpoints?: VerifyCheckpointStore;
  /** Continue from the store's checkpoint (without it any checkpoint is discarded). */
  readonly resume?: boolean;
  readonly signal?: AbortSignal;
  /** Once, before scanning: what to expect (DescribeTable's ItemCount is approximate; DBSIZE counts our keys). */
  readonly onStart?: (expected: { items: number; keys: number }, resumedFrom: ScanCounts | null) => void;
  /** After each committed page, with the run's totals. */
  readonly onProgress?: (counts: Readonly<ScanCounts>) => void;
  /** Keys kept per class in the report (default 10). */
  readonly sampleLimit?: number;
}

/**
 * The scan of `config`'s source and table where capture reads (`openSourceAccess`: the primary, a replica, or
 * every shard of a cluster), with the configured grace period.
 */
export function sourceScan(config: CdcConfig, access: SourceAccess, dynamo: DynamoDBClient): TwoSidedScan {
  return new TwoSidedScan({
    dynamo,
    redis: access.control,
    nodes: () => access.scanNodes(),
    versioned: access.reader,
    sourceId: config.sourceId,
    table: config.table,
    writer: config.writer,
    graceMs: config.verifierGraceMs,
  });
}

export class VerifyResumeError extends Error {}

const DEFAULT_SEGMENTS = 4;
const SEEN_MISSING_MAX = 100_000;

/**
 * The full two-sided scan (design: verifier). The DynamoDB side scans the table by segment and checks every
 * live item against Redis (value, type, ttl, extra, foreign); the Redis side SCANs the keyspace and checks
 * every key without a live item (missing). So each key is owned by one side; a key created during the run may
 * be seen by both. Mismatches are confirmed after the grace recheck and, with `repair`, re-captured through
 * the log (design invariant 6): one writer path fixes the table. Both sides checkpoint per page.
 */
export class TwoSidedScan {
  private readonly reader: KeyReader;
  private readonly nodes: () => readonly Redis[];

  constructor(private readonly deps: TwoSidedScanDeps) {
    this.nodes = deps.nodes ?? (() => [deps.redis as Redis]);
    this.reader = deps.versioned ?? new VersionedReader(() => this.nodes()[0] as Redis);
  }

  async run(opts: TwoSidedScanOptions = {}): Promise<ScanReport> {
    const { state, resumed } = await this.initialState(opts);
    opts.onStart?.(await this.expected(), resumed ? state.counts : null);

    // One failing side stops the others; the caller's abort stops all of them.
    const stop = new AbortController();
    const onAbort = () => stop.abort();
    opts.signal?.addEventListener('abort', onAbort, { once: true });
    const saver = opts.checkpoints ? new LatestSaver(opts.checkpoints) : undefined;
    const ctx: RunContext = {
      opts,
      state,
      signal: stop.signal,
      matches: opts.match ? globMatcher(opts.match) : () => true,
      sampleLimit: opts.sampleLimit ?? 10,
      seenMissing: new Set(),
      commit: (page) => {
        mergeCounts(state.counts, page, ctx.sampleLimit);
        saver?.save(structuredClone(state));
        opts.onProgress?.(state.counts);
      },
    };
    const sides = [...state.dynamo.map((_, i) => this.dynamoSegment(ctx, i)), this.redisSide(ctx)].map((p) =>
      p.catch((err: unknown) => {
        stop.abort();
        throw err;
      }),
    );
    const results = await Promise.allSettled(sides);
    opts.signal?.removeEventListener('abort', onAbort);
    await saver?.flush();
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
    return this.finish(state, resumed, opts.checkpoints);
  }

  /** A fresh state, or the checkpoint's when resuming with the same options. */
  private async initialState(opts: TwoSidedScanOptions): Promise<{ state: RunState; resumed: boolean }> {
    const match = opts.match ?? null;
    const previous = opts.resume ? ((await opts.checkpoints?.load()) ?? null) : null;
    const node = await readRunId(this.nodes()[previous?.redis.nodeIndex ?? 0] as Redis);
    if (previous) {
      const problem =
        resumeProblem(previous, {
          table: this.deps.table,
          match,
          ...(opts.segments !== undefined ? { segments: opts.segments } : {}),
        }) ??
        (previous.redis.node !== undefined && previous.redis.node !== node && !previous.redis.done
          ? `the checkpoint's Redis cursor belongs to another server (run id ${previous.redis.node}, now ${node}: ` +
            'another replica, or a restart); SCAN cursors do not carry over: run without --resume to start over'
          : null);
      if (problem) throw new VerifyResumeError(problem);
      return { state: { ...previous, dynamo: [...previous.dynamo] }, resumed: true };
    }
    await opts.checkpoints?.clear();
    const segments = opts.segments ?? DEFAULT_SEGMENTS;
    const state: RunState = {
      table: this.deps.table,
      match,
      segments,
      startedAt: Date.now(),
      dynamo: Array.from({ length: segments }, () => ({ lastKey: null, done: false })),
      redis: { cursor: '0', done: false, node, nodeIndex: 0 },
      counts: emptyCounts(),
    };
    return { state, resumed: false };
  }

  private async finish(
    state: RunState,
    resumed: boolean,
    checkpoints: VerifyCheckpointStore | undefined,
  ): Promise<ScanReport> {
    const completed = state.redis.done && state.dynamo.every((s) => s.done);
    const report = buildReport(
      {
        sourceId: this.deps.sourceId,
        table: this.deps.table,
        match: state.match,
        segments: state.segments,
        startedAt: state.startedAt,
        finishedAt: Date.now(),
        completed,
        resumed,
      },
      state.counts,
    );
    if (completed) {
      await checkpoints?.clear();
      // `cdc status` reads the last complete run from here.
      await this.deps.redis.set(
        controlKeys.lastScan(this.deps.sourceId, this.deps.table),
        JSON.stringify(toScanSummary(report)),
      );
    }
    return report;
  }

  private async expected(): Promise<{ items: number; keys: number }> {
    const [{ Table }, keys] = await Promise.all([
      this.deps.dynamo.send(new DescribeTableCommand({ TableName: this.deps.table })),
      Promise.all(this.nodes().map((n) => n.dbsize())).then((sizes) => sizes.reduce((a, b) => a + b, 0)),
    ]);
    return { items: Table?.ItemCount ?? 0, keys };
  }

  private async dynamoSegment(ctx: RunContext, index: number): Promise<void> {
    const pageSize = ctx.opts.pageSize ?? 250;
    let seg = ctx.state.dynamo[index] as VerifyCheckpoint['dynamo'][number];
    while (!seg.done && !ctx.signal.aborted) {
      const page = await scanPage(
        this.deps.dynamo,
        this.deps.table,
        { index, of: ctx.state.segments },
        seg.lastKey,
        pageSize,
        ctx.signal,
      ).catch((err: unknown) => {
        if (ctx.signal.aborted) return null; // the abort cancelled the request
        throw err;
      });
      if (!page) return;
      await ctx.opts.throttle?.(page.items.length, ctx.signal);
      if (ctx.signal.aborted) return;
      const counts = await this.checkItems(ctx, page.items);
      if (!counts) return;
      seg = { lastKey: page.lastKey, done: page.lastKey === null };
      ctx.state.dynamo[index] = seg;
      ctx.commit(counts);
    }
  }

  /** Live items against Redis: every class but missing. Null when aborted before the page was decided. */
  private async checkItems(ctx: RunContext, items: readonly Item[]): Promise<ScanCounts | null> {
    const counts = emptyCounts();
    counts.itemsScanned = items.length;
    const live: Array<{ pk: string; key: Buffer; item: Item }> = [];
    for (const item of items) {
      const pk = item[ATTR.pk]?.S;
      if (pk === undefined) continue;
      const key = decodeText(pk);
      if (!ctx.matches(key)) continue;
      if (item[ATTR.deleted]?.BOOL === true) counts.tombstones++;
      else live.push({ pk, key, item });
    }
    const redis = await readRedis(
      this.reader,
      live.map((l) => l.key),
    );
    const suspects: Suspect[] = [];
    live.forEach(({ pk, key, item }, i) => {
      const verdict = check(safeState(item), redis[i] as RedisState, this.deps.writer);
      if (verdict === 'match') recordVerdict(counts, 'match', pk, ctx.sampleLimit);
      else suspects.push({ key, pk, firstVersion: itemVersion(item) });
    });
    return this.decide(ctx, counts, suspects);
  }

  private async redisSide(ctx: RunContext): Promise<void> {
    const count = ctx.opts.pageSize ?? 250;
    while (!ctx.state.redis.done && !ctx.signal.aborted) {
      const nodes = this.nodes();
      const index = ctx.state.redis.nodeIndex ?? 0;
      const client = nodes[index] as Redis;
      if (ctx.state.redis.node === undefined)
        ctx.state.redis = { ...ctx.state.redis, node: await readRunId(client) };
      const step = await scanStep(client, ctx.state.redis.cursor, {
        count,
        ...(ctx.opts.match ? { match: ctx.opts.match } : {}),
      });
      const keys = step.keys.filter((k) => !isInternalKey(k));
      await ctx.opts.throttle?.(keys.length, ctx.signal);
      if (ctx.signal.aborted) return;
      const counts = await this.checkKeys(ctx, keys);
      if (!counts) return;
      // A node scanned to its end hands over to the next one (a cluster's next shard), from cursor 0.
      const last = step.cursor === '0' && index + 1 >= nodes.length;
      ctx.state.redis =
        step.cursor === '0' && !last
          ? { cursor: '0', done: false, nodeIndex: index + 1 }
          : { ...ctx.state.redis, cursor: step.cursor, done: last };
      ctx.commit(counts);
    }
  }

  /** Redis keys without a live item: missing. Keys with a live item are the DynamoDB side's. */
  private async checkKeys(ctx: RunContext, keys: readonly Buffer[]): Promise<ScanCounts | null> {
    const counts = emptyCounts();
    counts.keysScanned = keys.length;
    const pks = keys.map(keyToPk);
    const items = await batchGetItems(this.deps.dynamo, this.deps.table, pks, [
      ATTR.pk,
      ATTR.ver,
      ATTR.deleted,
    ]);
    const unowned = keys
      .map((key, i) => ({ key, pk: pks[i] as string, item: items.get(pks[i] as string) }))
      .filter(({ pk, item }) => (!item || item[ATTR.deleted]?.BOOL === true) && !ctx.seenMissing.has(pk));
    const redis = await readRedis(
      this.reader,
      unowned.map((u) => u.key),
    );
    const suspects: Suspect[] = [];
    unowned.forEach(({ key, pk, item }, i) => {
      // Gone since SCAN returned it, or a type we do not carry (stream): absent on both sides.
      if ((redis[i] as RedisState).value === null) return;
      // SCAN may return a key twice (during a rehash); best effort, bounded: a first verify before any snapshot
      // finds every key missing.
      if (ctx.seenMissing.size < SEEN_MISSING_MAX) ctx.seenMissing.add(pk);
      suspects.push({ key, pk, firstVersion: itemVersion(item) });
    });
    return this.decide(ctx, counts, suspects);
  }

  /** Recheck after the grace period, count the verdicts, repair the confirmed ones. */
  private async decide(ctx: RunContext, counts: ScanCounts, suspects: Suspect[]): Promise<ScanCounts | null> {
    const verdicts = await recheck({ ...this.deps, reader: this.reader }, suspects, ctx.signal);
    if (!verdicts) return null;
    counts.rechecked = suspects.length;
    const broken: Buffer[] = [];
    suspects.forEach((s, i) => {
      const verdict = verdicts[i] as Verdict;
      recordVerdict(counts, verdict, s.pk, ctx.sampleLimit);
      if (verdict !== 'match' && verdict !== 'in-flight') broken.push(s.key);
    });
    if (ctx.opts.repair && broken.length > 0) counts.repaired = await ctx.opts.repair(broken);
    return counts;
  }
}

/** The checkpoint while the run updates it (each field replaced whole on commit). */
type RunState = { -readonly [K in keyof VerifyCheckpoint]: VerifyCheckpoint[K] } & {
  dynamo: Array<VerifyCheckpoint['dynamo'][number]>;
};

interface RunContext {
  readonly opts: TwoSidedScanOptions;
  readonly state: RunState;
  readonly signal: AbortSignal;
  readonly matches: (key: Buffer) => boolean;
  readonly sampleLimit: number;
  readonly seenMissing: Set<string>;
  readonly commit: (page: ScanCounts) => void;
}
