import { describe, expect, it } from 'vitest';
import { hostNetworkEngines, KAFKA_SINGLE_NODE_ENV } from './engine-containers';
import { containerSpecs } from './docker';

const images = { redis: 'r:1', kafka: 'k:1', dynamodb: 'd:1' };
const ports = { redis: 40001, kafka: 40002, kafkaController: 40003, dynamodb: 40004 };

describe('hostNetworkEngines', () => {
  const specs = Object.fromEntries(
    hostNetworkEngines(images, ports, { fastStart: true }).map((s) => [s.name, s]),
  );

  it('puts every port in the command or environment, on 127.0.0.1', () => {
    const redis = specs.redis?.command ?? [];
    expect(redis.slice(redis.indexOf('--port'), redis.indexOf('--port') + 4)).toEqual([
      '--port',
      '40001',
      '--bind',
      '127.0.0.1',
    ]);
    expect(redis.slice(-2)).toEqual(['--notify-keyspace-events', 'KEA']);
    expect(specs.kafka?.environment).toMatchObject({
      KAFKA_LISTENERS: 'PLAINTEXT://127.0.0.1:40002,CONTROLLER://127.0.0.1:40003',
      KAFKA_ADVERTISED_LISTENERS: 'PLAINTEXT://127.0.0.1:40002',
      KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:40003',
      KAFKA_JVM_PERFORMANCE_OPTS: '-XX:+UseSerialGC -XX:TieredStopAtLevel=1',
    });
    expect(specs.kafka?.environment.CLUSTER_ID).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
    expect(specs.dynamodb?.command.slice(-2)).toEqual(['-port', '40004']);
    expect(Object.values(specs).map((s) => s.endpoint)).toEqual([
      'redis://127.0.0.1:40001',
      '127.0.0.1:40002',
      'http://127.0.0.1:40004',
    ]);
  });

  it('waits for a log line (redis, kafka) or the port (DynamoDB Local prints nothing when ready)', () => {
    expect(specs.redis?.ready).toEqual({ log: /Ready to accept connections/ });
    expect(specs.kafka?.ready).toEqual({ log: /Kafka Server started/ });
    expect(specs.dynamodb?.ready).toEqual({ tcpPort: 40004 });
    expect(Object.values(specs).map((s) => s.image)).toEqual(['r:1', 'k:1', 'd:1']);
  });

  it('tunes the broker like the port-publishing containers of `cdc stack up --engines docker`', () => {
    const published = containerSpecs('ab12', { redis: 1, kafka: 2, dynamodb: 3 }).find(
      (s) => s.name === 'kafka',
    );
    for (const [k, v] of Object.entries(KAFKA_SINGLE_NODE_ENV)) {
      expect(specs.kafka?.environment[k]).toBe(v);
      expect(published?.args).toContain(`${k}=${v}`);
    }
  });
});
