import type { CdcConfig } from '@cdc/config';
import { ensureChangeTopics, type Kafka, orderedProducer } from '@cdc/kafka';
import type { Logger, Metrics } from '@cdc/observability';
import type { KeyReader } from '@cdc/redis';
import { CapturePipeline } from './capture-pipeline';

/** Capture's own pipeline, for writers outside the capture app, and how to let go of its producer. */
export interface CaptureWriter {
  readonly pipeline: CapturePipeline;
  readonly close: () => Promise<void>;
}

/**
 * Capture's pipeline with a producer of its own, for what re-captures keys outside the capture app (`cdc
 * snapshot`, `cdc verify --repair`, `cdc dlq redrive`): the same reads, versions and DLQ policy as live capture,
 * so the changes topic stays the one path to the table. The topics are created if missing.
 */
export async function openCaptureWriter(
  config: CdcConfig,
  kafka: Kafka,
  reader: KeyReader,
  metrics: Metrics,
  logger: Logger,
): Promise<CaptureWriter> {
  const { redis } = config.require('redis');
  const producer = orderedProducer(kafka);
  const close = () => producer.disconnect().catch(() => undefined);
  try {
    await ensureChangeTopics(kafka, config);
    await producer.connect();
  } catch (err) {
    await close();
    throw err;
  }
  return {
    pipeline: CapturePipeline.fromConfig(config, reader, redis.db, producer, metrics, logger),
    close,
  };
}
