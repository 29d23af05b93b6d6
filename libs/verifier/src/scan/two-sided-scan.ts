import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { CdcConfig } from '@cdc/config';
import { ATTR, decodeText, type Item, keyToPk } from '@cdc/parity';
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
import type { Admin } from '@cdc/kafka';
import { PipelineWatch } from '../pipeline-watch';
import { check, safeState } from '../record-check';
import { SourceReader, type SourceState } from '../source-read';
import { readinessOptions } from '../status/status-collector';
import { LatestSaver, resumeProblem, type VerifyCheckpoint, type VerifyCheckpointStore } from './checkpoint';
import { globMatcher } from './glob';
import { itemVersion, type Settled, settle, type Suspect } from './recheck';
import {
  buildReport,
  emptyCounts,
  mergeCounts,
  recordVerdict,
  type ScanCounts,
  type ScanReport,
  toScanSummary,
} from './report';
import { scanPage } from './scan-page';
import { batchGetItems } from './table-reads';

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
  /** The live pipeline's progress (in-flight.ts); absent for a table it does not feed: the grace-only rule. */
  readonly watch?: PipelineWatch;
  /** Capture's CDC_MAX_EVENT_BYTES (default 400000): the not-carried policy's size limit. */
  readonly maxEventBytes?: number;
  /** The Redis database (default 0): only for measuring events as capture encodes them. */
  readonly db?: number;
  /** In flight longer than this is stuck (default 10 min); a page waits at most `inFlightWaitMs` for it. */
  readonly inFlightLimitMs?: number;
  /** How long a page waits for the pipeline to pass its suspects (default max(10 s, 5 × grace)). */
  readonly inFlightWaitMs?: number;
  readonly captureAliveWithinMs?: number;
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
 * The scan of `config`'s source where capture reads (`openSourceAccess`: the primary, a replica, or every shard
 * of a cluster), with the configured grace period, of `table` (default the configured one). With `admin` (a
 * Kafka admin client) and `live` (the table is the one the live applier feeds), mismatches are confirmed only
 * once the pipeline passed them (in-flight.ts); otherwise by the grace period alone.
 */
export function sourceScan(
  config: CdcConfig,
  access: SourceAccess,
  dynamo: DynamoDBClient,
  opts: {
    readonly table?: string;
    readonly admin?: Admin;
    readonly live?: boolean;
    /** False when the admin could not connect: progress unknown at once, keys left in flight. */
    readonly kafkaConnected?: () => boolean;
  } = {},
): TwoSidedScan {
  const live = opts.live ?? true;
  return new TwoSidedScan({
    dynamo,
    redis: access.control,
    nodes: () => access.scanNodes(),
    versioned: access.reader,
    sourceId: config.sourceId,
    table: opts.table ?? config.table,
    writer: config.writer,
    graceMs: config.verifierGraceMs,
    maxEventBytes: config.maxEventBytes,
    db: config.redis?.db ?? 0,
    inFlightLimitMs: config.verifierInFlightLimitMs,
    captureAliveWithinMs: readinessOptions(config).aliveWithinMs ?? 10_000,
    ...(live && opts.admin
      ? {
          watch: new PipelineWatch(opts.admin, access.control, config, {
            ...(opts.kafkaConnected ? { connected: opts.kafkaConnected } : {}),
          }),
        }
      : {}),
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
  private readonly source: SourceReader;
  private readonly nodes: () => readonly Redis[];

  constructor(private readonly deps: TwoSidedScanDeps) {
    this.nodes = deps.nodes ?? (() => [deps.redis as Redis]);
    const reader: KeyReader = deps.versioned ?? new VersionedReader(() => this.nodes()[0] as Redis);
    this.source = new SourceReader(reader, {
      maxEventBytes: deps.maxEventBytes ?? 400_000,
      sourceId: deps.sourceId,
      db: deps.db ?? 0,
    });
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
        progressUnknown: this.deps.watch?.lastUnknown ?? null,
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
    const redis = await this.source.read(live.map((l) => l.key));
    const firstAt = Date.now();
    const suspects: Suspect[] = [];
    live.forEach(({ pk, key, item }, i) => {
      const state = redis[i] as SourceState;
      if (state.notCarried)
        return recordVerdict(counts, 'not-carried', pk, ctx.sampleLimit, state.notCarried.code);
      const verdict = check(safeState(item), state, this.deps.writer);
      if (verdict === 'match') recordVerdict(counts, 'match', pk, ctx.sampleLimit);
      else suspects.push({ key, pk, firstVersion: itemVersion(item), firstAt });
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
    const redis = await this.source.read(unowned.map((u) => u.key));
    const firstAt = Date.now();
    const suspects: Suspect[] = [];
    unowned.forEach(({ key, pk, item }, i) => {
      const state = redis[i] as SourceState;
      // Left out by policy (a stream, a value over the limit): capture tombstoned it and said why on the DLQ.
      if (state.notCarried && !ctx.seenMissing.has(pk)) {
        if (ctx.seenMissing.size < SEEN_MISSING_MAX) ctx.seenMissing.add(pk);
        return recordVerdict(counts, 'not-carried', pk, ctx.sampleLimit, state.notCarried.code);
      }
      // Gone since SCAN returned it: absent on both sides.
      if (state.value === null) return;
      // SCAN may return a key twice (during a rehash); best effort, bounded: a first verify before any snapshot
      // finds every key missing.
      if (ctx.seenMissing.size < SEEN_MISSING_MAX) ctx.seenMissing.add(pk);
      suspects.push({ key, pk, firstVersion: itemVersion(item), firstAt });
    });
    return this.decide(ctx, counts, suspects);
  }

  /**
   * Recheck (lag-aware, recheck.ts), count the verdicts, repair the confirmed ones: never a key in flight, never
   * one left out by policy (re-capturing it would only add a DLQ record).
   */
  private async decide(ctx: RunContext, counts: ScanCounts, suspects: Suspect[]): Promise<ScanCounts | null> {
    const { graceMs } = this.deps;
    const limitMs = this.deps.inFlightLimitMs ?? 600_000;
    const settled = await settle(
      {
        ...this.deps,
        source: this.source,
        limitMs,
        waitMs: Math.min(limitMs, this.deps.inFlightWaitMs ?? Math.max(10_000, graceMs * 5)),
        captureAliveWithinMs: this.deps.captureAliveWithinMs ?? 10_000,
        followSuperseded: true,
      },
      suspects,
      ctx.signal,
    );
    if (!settled) return null;
    counts.rechecked = suspects.length;
    const broken: Buffer[] = [];
    suspects.forEach((s, i) => {
      const { verdict: v, notCarried } = settled[i] as Settled;
      const verdict = v === 'stuck' ? 'in-flight' : v;
      recordVerdict(counts, verdict, s.pk, ctx.sampleLimit, notCarried?.code);
      if (!(['match', 'in-flight', 'not-carried'] as const).some((ok) => ok === verdict)) broken.push(s.key);
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
