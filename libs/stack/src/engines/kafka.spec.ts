import { describe, expect, it } from 'vitest';
import { kafkaJvmArgs, newClusterId, renderPom, renderServerProperties } from './kafka';

const parse = (text: string): Map<string, string> =>
  new Map(
    text
      .trim()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as [string, string]),
  );

describe('renderServerProperties', () => {
  const props = parse(
    renderServerProperties({ brokerPort: 40002, controllerPort: 40004, logDir: '/s/kafka/data' }),
  );

  it('describes a single-node KRaft broker+controller on 127.0.0.1', () => {
    expect(props.get('process.roles')).toBe('broker,controller');
    expect(props.get('node.id')).toBe('1');
    expect(props.get('controller.quorum.voters')).toBe('1@127.0.0.1:40004');
    expect(props.get('listeners')).toBe('PLAINTEXT://127.0.0.1:40002,CONTROLLER://127.0.0.1:40004');
    expect(props.get('advertised.listeners')).toBe('PLAINTEXT://127.0.0.1:40002');
    expect(props.get('controller.listener.names')).toBe('CONTROLLER');
    expect(props.get('inter.broker.listener.name')).toBe('PLAINTEXT');
    expect(props.get('listener.security.protocol.map')).toBe('CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT');
    expect(props.get('log.dirs')).toBe('/s/kafka/data');
  });

  it('is tuned for one node, explicit topics and a small heap', () => {
    expect(props.get('offsets.topic.replication.factor')).toBe('1');
    expect(props.get('transaction.state.log.replication.factor')).toBe('1');
    expect(props.get('transaction.state.log.min.isr')).toBe('1');
    expect(props.get('offsets.topic.num.partitions')).toBe('1');
    expect(props.get('group.initial.rebalance.delay.ms')).toBe('0');
    expect(props.get('log.cleaner.dedupe.buffer.size')).toBe('2097152');
    expect(props.get('auto.create.topics.enable')).toBe('false');
    expect(props.get('num.partitions')).toBe('6');
    expect([...props.values()].join()).not.toContain('localhost');
  });

  it('escapes backslashes in paths (java.util.Properties syntax)', () => {
    const p = parse(renderServerProperties({ brokerPort: 1, controllerPort: 2, logDir: 'C:\\kafka' }));
    expect(p.get('log.dirs')).toBe('C:\\\\kafka');
  });
});

describe('newClusterId', () => {
  it('is a 22-char base64url encoding of 16 bytes that never starts with "-"', () => {
    const ids = Array.from({ length: 2_000 }, newClusterId);
    for (const id of ids) {
      expect(id).toMatch(/^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/);
      expect(Buffer.from(id, 'base64url')).toHaveLength(16);
    }
    expect(new Set(ids).size).toBe(ids.length);
  });
});

describe('renderPom', () => {
  it('pulls the broker plus the logging binding its POM lacks', () => {
    const pom = renderPom();
    expect(pom).toContain('<artifactId>kafka_2.13</artifactId><version>3.9.1</version>');
    expect(pom).toContain('<artifactId>slf4j-reload4j</artifactId><version>1.7.36</version>');
    expect(pom).toContain(
      '<groupId>ch.qos.reload4j</groupId><artifactId>reload4j</artifactId><version>1.2.25</version>',
    );
  });
});

describe('kafkaJvmArgs', () => {
  const base = { stateDir: '/s', log4j: '/s/kafka/log4j.properties', libs: '/c/libs' };
  it('uses a small serial-GC heap, C1 only when fastStart, and marks the process with its state dir', () => {
    const fast = kafkaJvmArgs({ ...base, fastStart: true });
    expect(fast.slice(0, 4)).toEqual(['-Xms256m', '-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1']);
    expect(fast).toContain('-Dcdc.stack.dir=/s');
    expect(fast).toContain('-Dlog4j.configuration=file:/s/kafka/log4j.properties');
    expect(fast.slice(-2)).toEqual(['-cp', '/c/libs/*']);
    expect(kafkaJvmArgs({ ...base, fastStart: false })).not.toContain('-XX:TieredStopAtLevel=1');
  });
});
