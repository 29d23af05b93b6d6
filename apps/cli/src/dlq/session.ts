import { SingleBar } from 'cli-progress';
import { type CaptureOutcome, type CaptureWriter, openCaptureWriter } from '@cdc/capture';
import { type CdcConfig, ConfigError } from '@cdc/config';
import type { DlqEntry, DlqResolution } from '@cdc/contracts';
import { type Admin, createKafka, DlqStore, isUnknownTopic, type Kafka } from '@cdc/kafka';
import { createLogger, Metrics } from '@cdc/observability';
import { openSourceAccess } from '@cdc/redis';
import { resolveConfig } from '../endpoints';
import { fail } from '../output';

/** Kafka clients and the DLQ store for one `cdc dlq` command. */
export interface DlqSession {
  readonly config: CdcConfig;
  readonly kafka: Kafka;
  readonly admin: Admin;
  readonly store: DlqStore;
  close(): Promise<void>;
}

export async function openDlqSession(
  quiet: boolean,
  needs: Array<'redis' | 'kafka'> = ['kafka'],
): Promise<DlqSession> {
  const { config } = await resolveConfig('reuse', quiet);
  let kafkaCfg;
  try {
    kafkaCfg = config.require(...needs).kafka;
  } catch (err) {
    if (err instanceof ConfigError) fail(err.message, 78);
    throw err;
  }
  const kafka = createKafka(kafkaCfg, createLogger('fatal', 'cdc-dlq', process.stderr));
  const admin = kafka.admin();
  await admin.connect().catch((err: Error) => {
    fail(`cannot reach Kafka at ${kafkaCfg.brokers.join(',')} (${err.message}): check KAFKA_BROKERS`);
  });
  return {
    config,
    kafka,
    admin,
    store: new DlqStore(kafka, admin, config),
    close: () => admin.disconnect().catch(() => undefined),
  };
}

export interface DlqContents {
  readonly entries: DlqEntry[];
  readonly values: Map<string, Buffer | null>;
  readonly resolutions: Map<string, DlqResolution>;
  /** False when the DLQ topic does not exist yet (nothing was ever dead-lettered here). */
  readonly exists: boolean;
}

/** The whole DLQ up to its current end, and the resolutions; a progress bar on stderr for large ones. */
export async function readDlq(s: DlqSession, keepValue?: (id: string) => boolean): Promise<DlqContents> {
  const bar = new SingleBar({
    format: 'reading the DLQ |{bar}| {value}/{total} records',
    hideCursor: true,
    stream: process.stderr,
  });
  let started = false;
  try {
    const [{ entries, values }, resolutions] = await Promise.all([
      s.store.entries({
        ...(keepValue ? { keepValue } : {}),
        onProgress: (read, total) => {
          if (total < 1000) return;
          if (!started) bar.start(total, 0);
          started = true;
          bar.update(read);
        },
      }),
      s.store.resolutions(),
    ]);
    return { entries, values, resolutions, exists: true };
  } catch (err) {
    if (!isUnknownTopic(err)) throw err;
    return { entries: [], values: new Map(), resolutions: new Map(), exists: false };
  } finally {
    if (started) bar.stop();
  }
}

/**
 * Re-captures keys with capture's own pipeline (origin=repair, event "redrive"), exactly as `cdc verify
 * --repair` does: capture reads each key's current state from Redis and produces it, a DELETE when it is
 * gone, or a new DLQ record when it is still refused. The one writer path stays the only writer.
 */
export async function recapture(s: DlqSession, keys: readonly Buffer[]): Promise<CaptureOutcome[]> {
  const { redis: redisCfg } = s.config.require('redis', 'kafka');
  const source = await openSourceAccess(redisCfg, 'cdc-dlq-redrive').catch((err: Error) =>
    fail(`cannot reach Redis at ${redisCfg.url} (${err.message}): check REDIS_URL and REDIS_DB`),
  );
  let writer: CaptureWriter | undefined;
  try {
    const logger = createLogger('fatal', 'cdc-dlq', process.stderr);
    const metrics = new Metrics({ defaultMetrics: false });
    writer = await openCaptureWriter(s.config, s.kafka, source.reader, metrics, logger);
    const { pipeline } = writer;
    const outcomes: CaptureOutcome[] = [];
    const size = Math.max(1, s.config.captureBatchSize);
    for (let i = 0; i < keys.length; i += size)
      outcomes.push(...(await pipeline.recapture(keys.slice(i, i + size), 'repair', 'redrive')).outcomes);
    return outcomes;
  } finally {
    await writer?.close();
    source.close();
  }
}
