import type { KafkaConfig } from '@cdc/config';
import type { Logger } from '@cdc/observability';
import { Kafka, logLevel, type LogEntry, Partitioners, type Producer, type SASLOptions } from 'kafkajs';

/** kafkajs logs routed into pino, warnings and up (kafkajs is chatty at info on every rebalance). */
function pinoLogCreator(logger: Logger) {
  return () =>
    ({ level, label, log }: LogEntry) => {
      const { message, ...rest } = log;
      if (level === logLevel.ERROR || level === logLevel.NOTHING)
        logger.error({ kafka: rest, label }, message);
      else if (level === logLevel.WARN) logger.warn({ kafka: rest, label }, message);
      else logger.debug({ kafka: rest, label }, message);
    };
}

export function createKafka(cfg: KafkaConfig, logger: Logger, clientId = cfg.clientId): Kafka {
  return new Kafka({
    clientId,
    brokers: [...cfg.brokers],
    ssl: typeof cfg.ssl === 'boolean' ? cfg.ssl : { ca: [...cfg.ssl.ca] },
    ...(cfg.sasl ? { sasl: { ...cfg.sasl } as SASLOptions } : {}),
    logLevel: logLevel.WARN,
    logCreator: pinoLogCreator(logger),
    // kafkajs' own retrier (with `retriable` errors) is the only retry loop around Kafka calls.
    retry: { initialRetryTime: 100, retries: 8 },
  });
}

/**
 * Producer settings shared by capture and the DLQ writer: Java-compatible murmur2 partitioning (key = Redis
 * key, so one key stays in one partition whoever produces it), one request in flight so retries cannot
 * reorder. Not the idempotent producer: duplicates are harmless by design (conditional apply), and kafkajs'
 * idempotent mode has lost messages (kafkajs #598, #1005).
 */
export function orderedProducer(kafka: Kafka): Producer {
  return kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    maxInFlightRequests: 1,
    allowAutoTopicCreation: false,
  });
}

const keyPartitioner = Partitioners.DefaultPartitioner();

/** The partition orderedProducer puts a record with this key in, on a topic of `partitions` partitions. */
export function keyPartition(key: Buffer, partitions: number): number {
  const partitionMetadata = Array.from({ length: partitions }, (_, partitionId) => ({
    partitionId,
    leader: 0,
    replicas: [0],
    isr: [0],
    partitionErrorCode: 0,
    offlineReplicas: [],
  }));
  return keyPartitioner({ topic: '', partitionMetadata, message: { key, value: null } });
}
