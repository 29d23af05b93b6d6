import type { CdcConfig } from '@cdc/config';
import { createKafka } from '@cdc/kafka';
import type { Logger, Metrics } from '@cdc/observability';
import { openSourceAccess, type SourceAccess } from '@cdc/redis';
import { type CaptureWriter, openCaptureWriter } from './capture-writer';
import { FileCheckpointStore } from './checkpoints';
import { KeyspaceScanner, type ScanResult } from './keyspace-scanner';

export interface SnapshotOptions {
  readonly match?: string;
  /** Keys per second (0 = unlimited). */
  readonly rate: number;
  /** Continue from the checkpoint a killed run left. */
  readonly resume: boolean;
  readonly checkpointFile: string;
  readonly signal?: AbortSignal;
  /** Called once before scanning with the total to expect (DBSIZE), then after every batch. */
  readonly onStart?: (expectedKeys: number, resumedFrom: number) => void;
  readonly onProgress?: (scanned: number) => void;
}

export interface SnapshotSummary extends ScanResult {
  readonly durationMs: number;
  readonly resumed: boolean;
}

/**
 * Backfills the existing keyspace: every key is re-read with the same versioned script as live capture and
 * produced with origin=snapshot, so running it during live traffic never regresses a key (the later read has
 * the larger version, and the applier keeps the larger version).
 */
export async function runSnapshot(
  config: CdcConfig,
  metrics: Metrics,
  logger: Logger,
  opts: SnapshotOptions,
): Promise<SnapshotSummary> {
  const { redis: redisCfg, kafka: kafkaCfg } = config.require('redis', 'kafka');
  const kafka = createKafka(kafkaCfg, logger);
  const started = Date.now();
  let source: SourceAccess | undefined;
  let writer: CaptureWriter | undefined;
  try {
    // Scans and reads where capture reads (REDIS_READ_FROM): on a replica, the primary pays nothing; on a
    // Redis Cluster, every shard is scanned in turn.
    source = await openSourceAccess(redisCfg, 'cdc-snapshot');
    const access = source;
    writer = await openCaptureWriter(config, kafka, access.reader, metrics, logger);
    const { pipeline } = writer;
    const checkpoints = new FileCheckpointStore(opts.checkpointFile);
    const previous = opts.resume ? await checkpoints.load() : null;
    if (!opts.resume) await checkpoints.clear();
    if (previous && previous.match !== opts.match) {
      throw new Error(
        `the checkpoint was taken with --match ${previous.match ?? '(none)'}; resume with the same pattern`,
      );
    }
    opts.onStart?.(await access.dbsize(), previous?.scanned ?? 0);
    const scanner = new KeyspaceScanner(
      () => access.scanNodes(),
      (keys) => pipeline.capture(keys, 'snapshot'),
      checkpoints,
    );
    const result = await scanner.run({
      rate: opts.rate,
      resumeFrom: previous,
      ...(opts.match ? { match: opts.match } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      onProgress: (p) => opts.onProgress?.(p.scanned),
    });
    return { ...result, durationMs: Date.now() - started, resumed: previous !== null };
  } finally {
    await writer?.close();
    source?.close();
  }
}
