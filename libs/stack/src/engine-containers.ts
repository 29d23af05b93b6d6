import { newClusterId } from './engines/kafka';
import { EPHEMERAL_REDIS_ARGS } from './engines/redis';
import type { CoreEngineName } from './types';

/**
 * Single-node broker settings every Kafka container here gets, on top of its listeners (the native stack's
 * server.properties says why each is there: engines/kafka.ts). apache/kafka and cdc-local/kafka both turn
 * KAFKA_<NAME> into the property <name>.
 */
export const KAFKA_SINGLE_NODE_ENV: Readonly<Record<string, string>> = {
  KAFKA_NODE_ID: '1',
  KAFKA_PROCESS_ROLES: 'broker,controller',
  KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
  KAFKA_INTER_BROKER_LISTENER_NAME: 'PLAINTEXT',
  KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
  KAFKA_LOG_DIRS: '/tmp/kraft-combined-logs',
  KAFKA_NUM_PARTITIONS: '6',
  KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
  KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
  KAFKA_OFFSETS_TOPIC_NUM_PARTITIONS: '1',
  KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
  KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
  KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
  KAFKA_LOG_CLEANER_DEDUPE_BUFFER_SIZE: '2097152',
};

export interface HostEnginePorts {
  redis: number;
  kafka: number;
  kafkaController: number;
  dynamodb: number;
}

/** How to tell that an engine container is ready: a line in its log, or its port accepting a connection. */
export type Readiness = { log: RegExp } | { tcpPort: number };

export interface HostContainerSpec {
  name: CoreEngineName;
  image: string;
  command: string[];
  environment: Record<string, string>;
  endpoint: string;
  ready: Readiness;
}

/**
 * The three engines as containers on the host's network (no bridge, no published ports): each listens on
 * 127.0.0.1 at the port given (DynamoDB Local, which has no bind option, on every interface). Works with the
 * public images and with the local ones (`npm run images`), which take the same commands and variables.
 */
export function hostNetworkEngines(
  images: Record<CoreEngineName, string>,
  ports: HostEnginePorts,
  opts: { fastStart: boolean },
): HostContainerSpec[] {
  const broker = `127.0.0.1:${ports.kafka}`;
  const controller = `127.0.0.1:${ports.kafkaController}`;
  return [
    {
      name: 'redis',
      image: images.redis,
      command: [
        'redis-server',
        '--port',
        String(ports.redis),
        '--bind',
        '127.0.0.1',
        ...EPHEMERAL_REDIS_ARGS,
      ],
      environment: {},
      endpoint: `redis://127.0.0.1:${ports.redis}`,
      ready: { log: /Ready to accept connections/ },
    },
    {
      name: 'kafka',
      image: images.kafka,
      command: [],
      environment: {
        ...KAFKA_SINGLE_NODE_ENV,
        CLUSTER_ID: newClusterId(),
        KAFKA_LISTENERS: `PLAINTEXT://${broker},CONTROLLER://${controller}`,
        KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://${broker}`,
        KAFKA_CONTROLLER_QUORUM_VOTERS: `1@${controller}`,
        KAFKA_HEAP_OPTS: '-Xms256m -Xmx512m',
        KAFKA_JVM_PERFORMANCE_OPTS: `-XX:+UseSerialGC${opts.fastStart ? ' -XX:TieredStopAtLevel=1' : ''}`,
      },
      endpoint: broker,
      ready: { log: /Kafka Server started/ },
    },
    {
      name: 'dynamodb',
      image: images.dynamodb,
      command: [
        '-jar',
        'DynamoDBLocal.jar',
        '-inMemory',
        '-sharedDb',
        '-disableTelemetry',
        '-port',
        String(ports.dynamodb),
      ],
      environment: {},
      endpoint: `http://127.0.0.1:${ports.dynamodb}`,
      ready: { tcpPort: ports.dynamodb },
    },
  ];
}
