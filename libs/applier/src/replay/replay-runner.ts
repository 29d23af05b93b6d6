import { join } from 'node:path';
import { type CdcConfig, JsonFile, names } from '@cdc/config';
import { ChangeEventCodec } from '@cdc/contracts';
import {
  ConditionalWriter,
  createDynamoClient,
  describeTable,
  ensureTable,
  type TableInfo,
  TableMissingError,
} from '@cdc/dynamo';
import { createKafka, ensureChangeTopics, orderedProducer } from '@cdc/kafka';
import type { Logger, Metrics } from '@cdc/observability';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { resolveTarget } from '../applier-options';
import { addReports, type ApplyReport, BatchApplier, emptyReport } from '../batch-applier';
import { KafkaDeadLetter } from '../dead-letter';
import { batchFailurePolicy } from '../failure-policy';
import { defaultItemMapper, type ItemMapper } from '../item-mapper';
import { NoDeadLetter, PredictingWriter } from './dry-run';
import { consumeUntilEnd } from './replay-consumer';
import { ReplayError, ReplayOffsets } from './replay-offsets';
import {
  allFinished,
  decideStart,
  describeStart,
  type PartitionProgress,
  type PartitionRange,
  progressOf,
  type ReplayCheckpoint,
  type ReplayStart,
  resumePosition,
} from './replay-plan';

/** Short, so a run restarted after kill -9 waits little for the dead member to leave the group. */
const SESSION_TIMEOUT_MS = 10_000;

export interface ReplayOptions {
  /** Source whose changes topic to replay (default: CDC_SOURCE_ID). */
  readonly source?: string;
  /** Target table (default: the source's table). */
  readonly table?: string;
  readonly createTable?: boolean;
  /** Where to start; omitted = resume the interrupted replay of this source into this table. */
  readonly start?: ReplayStart;
  /** Discard an interrupted replay's checkpoint and start over at `start`. */
  readonly restart?: boolean;
  /** Decode, plan and read the table's versions; write nothing, commit nothing of the replay's group. */
  readonly dryRun?: boolean;
  /** Checkpoints go to `<dir>/<source>-<table>.json`. */
  readonly checkpointDir: string;
  readonly mapItem?: ItemMapper;
  /** Awaited before each DynamoDB write (the CLI's --rate). */
  readonly beforeWrite?: () => Promise<void>;
  /** Stops after the in-flight batch; the run stays resumable. */
  readonly signal?: AbortSignal;
  readonly onStart?: (start: { progress: readonly PartitionProgress[]; resumed: boolean }) => void;
  readonly onProgress?: (progress: readonly PartitionProgress[]) => void;
  /** Told why the run waits (a killed run's group membership expiring). */
  readonly onWait?: (reason: string) => void;
}

export interface ReplaySummary {
  readonly source: string;
  readonly topic: string;
  readonly table: string;
  readonly group: string;
  readonly start: string;
  readonly resumed: boolean;
  readonly dryRun: boolean;
  /** Every partition's committed offset reached the end offset recorded at the first start. */
  readonly completed: boolean;
  readonly tableCreated: boolean;
  readonly partitions: ReadonlyArray<PartitionRange & { committed: string; finished: boolean }>;
  /** With --dry-run: what the writes would have done. */
  readonly report: ApplyReport;
  readonly durationMs: number;
  /** Kept while the replay is resumable; null once it completed. */
  readonly checkpointFile: string | null;
}

/**
 * Backfills a table from the changes topic (design: "replay uses its own group and stops at the end offsets
 * captured when it started"). The apply rules are the live applier's (BatchApplier), so replaying any range
 * over a live table never moves an item backwards. Resumable: the end offsets are in a checkpoint file and
 * the position is the replay group's committed offsets, which BatchConsumer commits only after durable writes.
 */
export async function runReplay(
  config: CdcConfig,
  metrics: Metrics,
  logger: Logger,
  opts: ReplayOptions,
): Promise<ReplaySummary> {
  const started = Date.now();
  const { kafka: kafkaCfg } = config.require('kafka');
  const target = resolveTarget(config, {
    ...(opts.source ? { source: opts.source } : {}),
    ...(opts.table ? { table: opts.table } : {}),
    ...(opts.createTable !== undefined ? { createTable: opts.createTable } : {}),
  });
  const group = names.replayGroup(target.source, target.table);
  const checkpoints = new JsonFile<ReplayCheckpoint>(
    join(opts.checkpointDir, `${target.source}-${target.table}.json`),
  );
  const log = logger.child({ component: 'replay', table: target.table });
  const kafka = createKafka(kafkaCfg, log);
  const admin = kafka.admin();
  const dynamo = createDynamoClient(config.dynamo);
  const dlq = opts.dryRun ? undefined : orderedProducer(kafka);
  try {
    await admin.connect();
    const offsets = new ReplayOffsets(admin);
    await offsets.requireTopic(target.topic, target.source);
    const decision = decideStart(await checkpoints.load(), opts.start, opts.restart ?? false);
    if (decision.mode === 'error') throw new ReplayError(decision.message);

    if (!opts.dryRun)
      await offsets.awaitNoMembers(group, SESSION_TIMEOUT_MS + 5_000, () =>
        opts.onWait?.(`waiting for group ${group} to have no members (a stopped run's session expiring)`),
      );
    const checkpoint: ReplayCheckpoint =
      decision.mode === 'resume'
        ? decision.checkpoint
        : {
            source: target.source,
            topic: target.topic,
            table: target.table,
            group,
            start: decision.start,
            startedAt: Date.now(),
            partitions: await offsets.plan(target.topic, decision.start),
          };
    const committed =
      decision.mode === 'resume' ? await offsets.committed(group, target.topic) : new Map<number, string>();
    const positions = new Map(
      checkpoint.partitions.map((r) => [r.partition, resumePosition(r, committed.get(r.partition))]),
    );
    const table = await openTable(dynamo, target.table, target.createTable, opts.dryRun ?? false);

    // A dry run reads through a throwaway group, so the replay group and its checkpoint stay as they were.
    const consumerGroup = opts.dryRun ? `${group}.dry-run.${process.pid}.${Date.now()}` : group;
    if (!opts.dryRun && decision.mode === 'fresh') await checkpoints.clear(); // never old ends with new offsets
    await offsets.position(consumerGroup, target.topic, positions);
    if (!opts.dryRun && decision.mode === 'fresh') await checkpoints.save(checkpoint);

    const progress = (): PartitionProgress[] =>
      checkpoint.partitions.map((r) => progressOf(r, positions.get(r.partition) ?? r.start));
    opts.onStart?.({ progress: progress(), resumed: decision.mode === 'resume' });

    const report = emptyReport();
    if (!allFinished(progress()) && !opts.signal?.aborted) {
      if (dlq) {
        await ensureChangeTopics(kafka, { ...config, topic: target.topic, dlqTopic: target.dlqTopic });
        await dlq.connect();
      }
      const applier = new BatchApplier({
        codec: new ChangeEventCodec(),
        writer: opts.dryRun ? new PredictingWriter(dynamo, !table.missing) : new ConditionalWriter(dynamo),
        table: target.table,
        dlqTopic: target.dlqTopic,
        mapItem: opts.mapItem ?? defaultItemMapper,
        concurrency: config.applierConcurrency,
        signature: config.writer,
        tombstoneTtlSeconds: config.tombstoneTtlSeconds,
        deadLetter: dlq ? new KafkaDeadLetter(dlq, target.dlqTopic) : new NoDeadLetter(),
        metrics,
        log,
        ...(opts.beforeWrite && !opts.dryRun ? { beforeWrite: opts.beforeWrite } : {}),
        accept: acceptBefore(checkpoint.partitions),
      });
      await consumeUntilEnd({
        kafka,
        group: consumerGroup,
        topic: target.topic,
        sessionTimeoutMs: SESSION_TIMEOUT_MS,
        log,
        decide: batchFailurePolicy({ table: target.table, dlqTopic: target.dlqTopic }),
        ...(opts.signal ? { signal: opts.signal } : {}),
        apply: async (batch) => {
          addReports(report, await applier.apply(batch));
        },
        onCommitted: (partition, offset) => {
          if (!positions.has(partition)) return false;
          positions.set(partition, offset);
          const now = progress();
          opts.onProgress?.(now);
          return allFinished(now);
        },
      });
    }

    // The truth is what Kafka has committed, not what this process believes it handled.
    const final = await offsets.committed(consumerGroup, target.topic);
    const partitions = checkpoint.partitions.map((r) => {
      const at = resumePosition(r, final.get(r.partition));
      return { ...r, committed: at, finished: progressOf(r, at).finished };
    });
    const completed = partitions.every((p) => p.finished);
    if (opts.dryRun) await offsets.deleteGroup(consumerGroup);
    else if (completed) {
      await checkpoints.clear();
      if (!(await offsets.deleteGroup(group)))
        log.warn({ group }, 'could not delete the finished replay group');
    }
    return {
      source: target.source,
      topic: target.topic,
      table: target.table,
      group,
      start: describeStart(checkpoint.start),
      resumed: decision.mode === 'resume',
      dryRun: opts.dryRun ?? false,
      completed,
      tableCreated: table.created,
      partitions,
      report,
      durationMs: Date.now() - started,
      checkpointFile: completed || opts.dryRun ? null : checkpoints.path,
    };
  } finally {
    await dlq?.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    dynamo.destroy();
  }
}

/** Only the offsets below each partition's recorded end; partitions added since the start are not replayed. */
function acceptBefore(
  ranges: readonly PartitionRange[],
): (m: { partition: number; offset: string }) => boolean {
  const ends = new Map(ranges.map((r) => [r.partition, BigInt(r.end)]));
  return (m) => {
    const end = ends.get(m.partition);
    return end !== undefined && BigInt(m.offset) < end;
  };
}

async function openTable(
  dynamo: DynamoDBClient,
  table: string,
  create: boolean,
  dryRun: boolean,
): Promise<{ created: boolean; missing: boolean }> {
  if (dryRun) return { created: false, missing: (await describeTable(dynamo, table)) === null };
  let info: TableInfo;
  try {
    info = await ensureTable(dynamo, table, create);
  } catch (err) {
    if (!(err instanceof TableMissingError)) throw err;
    throw new ReplayError(
      `DynamoDB table "${table}" does not exist: add --create-table to create it (pk S, stream, TTL on expireAt)`,
    );
  }
  return { created: info.created, missing: false };
}
