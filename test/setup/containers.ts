import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer, Wait } from 'testcontainers';
import { freePort } from '../../libs/stack/src';

export interface ContainerStack {
  readonly endpoints: { redisUrl: string; kafkaBrokers: string; dynamodbEndpoint: string };
  stop(): Promise<void>;
}

/**
 * The same three engines as containers, for machines with a Docker engine but no Java. Throws (fast) when no
 * container runtime answers: testcontainers says "Could not find a working container runtime strategy".
 * Kafka advertises 127.0.0.1:<host port>, so the host port is chosen before the container starts.
 */
export async function startContainers(): Promise<ContainerStack> {
  await getContainerRuntimeClient();
  const kafkaPort = await freePort();
  const started: StartedTestContainer[] = [];
  try {
    const [redis, kafka, dynamodb] = await Promise.all([
      new GenericContainer('redis:7')
        .withCommand(['redis-server', '--notify-keyspace-events', 'KEA', '--save', '', '--appendonly', 'no'])
        .withExposedPorts(6379)
        .withWaitStrategy(Wait.forLogMessage('Ready to accept connections'))
        .start(),
      new GenericContainer('apache/kafka:3.9.1')
        .withEnvironment({
          KAFKA_NODE_ID: '1',
          KAFKA_PROCESS_ROLES: 'broker,controller',
          KAFKA_LISTENERS: 'PLAINTEXT://:9092,CONTROLLER://:9093',
          KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${kafkaPort}`,
          KAFKA_CONTROLLER_LISTENER_NAMES: 'CONTROLLER',
          KAFKA_LISTENER_SECURITY_PROTOCOL_MAP: 'CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT',
          KAFKA_CONTROLLER_QUORUM_VOTERS: '1@localhost:9093',
          KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
          KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
          KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
          KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
        })
        .withExposedPorts({ container: 9092, host: kafkaPort })
        .withWaitStrategy(Wait.forLogMessage(/Kafka Server started/))
        .start(),
      new GenericContainer('amazon/dynamodb-local')
        .withCommand(['-jar', 'DynamoDBLocal.jar', '-inMemory', '-sharedDb', '-disableTelemetry'])
        .withExposedPorts(8000)
        .withWaitStrategy(Wait.forListeningPorts())
        .start(),
    ]);
    started.push(redis, kafka, dynamodb);
    return {
      endpoints: {
        redisUrl: `redis://127.0.0.1:${redis.getMappedPort(6379)}`,
        kafkaBrokers: `127.0.0.1:${kafkaPort}`,
        dynamodbEndpoint: `http://127.0.0.1:${dynamodb.getMappedPort(8000)}`,
      },
      stop: async () => {
        await Promise.all(started.map((c) => c.stop()));
      },
    };
  } catch (err) {
    await Promise.allSettled(started.map((c) => c.stop()));
    throw err;
  }
}
