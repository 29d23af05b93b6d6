import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from './config';

describe('loadConfig', () => {
  it('derives topic, table, group and writer from the source id', () => {
    const c = loadConfig({ CDC_SOURCE_ID: 'users' });
    expect(c).toMatchObject({
      table: 'cdc_users',
      topic: 'cdc.users.changes',
      dlqTopic: 'cdc.users.changes.dlq',
      dlqAcceptedTopic: 'cdc.users.changes.dlq.accepted',
      applierGroup: 'cdc-applier.users.cdc_users',
      writer: 'cdc-replicator/users',
      topicPartitions: 6,
    });
  });

  it('names every bad variable in one error', () => {
    let error: ConfigError | undefined;
    try {
      loadConfig({
        REDIS_URL: 'http://x',
        KAFKA_BROKERS: 'nohost',
        CDC_TOPIC_PARTITIONS: '0',
        KAFKA_SASL_MECHANISM: 'scram-sha-512',
      });
    } catch (e) {
      error = e as ConfigError;
    }
    expect(error).toBeInstanceOf(ConfigError);
    const text = error?.message ?? '';
    for (const v of [
      'REDIS_URL',
      'KAFKA_BROKERS',
      'CDC_TOPIC_PARTITIONS',
      'KAFKA_SASL_USERNAME',
      'KAFKA_SASL_PASSWORD',
    ]) {
      expect(text).toContain(v);
    }
    expect(error?.problems).toHaveLength(5);
  });

  it('parses TLS and SCRAM and never shows the secrets', () => {
    const c = loadConfig({
      REDIS_URL: 'rediss://app:s3cret@redis.example:6380',
      KAFKA_BROKERS: 'b1:9093, b2:9093',
      KAFKA_SSL: 'true',
      KAFKA_SASL_MECHANISM: 'scram-sha-512',
      KAFKA_SASL_USERNAME: 'cdc',
      KAFKA_SASL_PASSWORD: 'hunter2',
    });
    expect(c.kafka).toMatchObject({
      brokers: ['b1:9093', 'b2:9093'],
      ssl: true,
      sasl: { mechanism: 'scram-sha-512' },
    });
    const shown = JSON.stringify(c.redacted());
    expect(shown).not.toContain('s3cret');
    expect(shown).not.toContain('hunter2');
    expect(shown).toContain('rediss://app:***@redis.example:6380');
  });

  it('does not echo a password in the error', () => {
    expect(() => loadConfig({ REDIS_URL: 'redis://:topsecret@' })).toThrow(ConfigError);
    try {
      loadConfig({ REDIS_URL: 'nope://:topsecret@host' });
    } catch (e) {
      expect((e as Error).message).not.toContain('topsecret');
    }
  });

  it('requires the endpoints a process needs, naming each', () => {
    expect(() => loadConfig({}).require('redis', 'kafka')).toThrow(/REDIS_URL[\s\S]*KAFKA_BROKERS/);
  });

  it('reads cluster seeds after the first URL, and refuses a seed that is neither host:port nor a URL', () => {
    const c = loadConfig({ REDIS_URL: 'redis://app:pw@10.0.0.1:7000,10.0.0.2:7001, redis://10.0.0.3:7002' });
    expect(c.redis?.url).toBe('redis://app:pw@10.0.0.1:7000');
    expect(c.redis?.seeds).toEqual([
      { host: '10.0.0.1', port: 7000 },
      { host: '10.0.0.2', port: 7001 },
      { host: '10.0.0.3', port: 7002 },
    ]);
    expect(() => loadConfig({ REDIS_URL: 'redis://10.0.0.1:7000,not a seed' })).toThrow(
      /REDIS_URL: must start with redis:\/\/ or rediss:\/\/ \(TLS\); a cluster may list more seeds/,
    );
    expect(() => loadConfig({ REDIS_URL: 'http://10.0.0.1:7000' })).toThrow(/REDIS_URL/);
  });
});
