import type { KafkaConfig } from '@cdc/config';
import type { Logger } from '@cdc/observability';
import {
  Kafka,
  type KafkaConfig as KafkaJsConfig,
  logLevel,
  type LogEntry,
  Partitioners,
  type Producer,
  type SASLOptions,
} from 'kafkajs';
import { RepeatFilter, summariseKafkaLog } from './kafka-log';

/**
 * kafkajs logs routed into pino through summariseKafkaLog: a failed connection is one warning (broker and
 * error), other warnings and errors one line without the client's JSON, the raw entries at debug only.
 */
function pinoLogCreator(logger: Logger) {
  const repeats = new RepeatFilter();
  return () =>
    ({ namespace, level, log }: LogEntry) => {
      const line = summariseKafkaLog({ namespace, level, log });
      if (!repeats.admit(line)) return;
      logger[line.level](line.fields, line.msg);
    };
}

/** What every client of ours sends to the brokers: addresses, TLS and SASL (preflight.ts uses it too). */
export function connectionOptions(cfg: KafkaConfig): Pick<KafkaJsConfig, 'brokers' | 'ssl' | 'sasl'> {
  return {
    brokers: [...cfg.brokers],
    ssl: typeof cfg.ssl === 'boolean' ? cfg.ssl : { ca: [...cfg.ssl.ca] },
    ...(cfg.sasl ? { sasl: { ...cfg.sasl } as SASLOptions } : {}),
  };
}

export function createKafka(cfg: KafkaConfig, logger: Logger, clientId = cfg.clientId): Kafka {
  return new Kafka({
    clientId,
    ...connectionOptions(cfg),
    // kafkajs' info and debug entries only when our logger shows them (its debug is one line per request).
    logLevel: logger.isLevelEnabled('trace')
      ? logLevel.DEBUG
      : logger.isLevelEnabled('debug')
        ? logLevel.INFO
        : logLevel.WARN,
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
