import { logLevel } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { RepeatFilter, summariseKafkaLog } from './kafka-log';

const entry = (level: logLevel, namespace: string, log: Record<string, unknown>) => ({
  level,
  namespace,
  log: { timestamp: '2026-01-01T00:00:00.000Z', logger: 'kafkajs', message: '', ...log },
});

describe('summariseKafkaLog', () => {
  it('turns a failed connection into one warning naming the broker and the error, without the raw JSON', () => {
    const line = summariseKafkaLog(
      entry(logLevel.ERROR, 'Connection', {
        message: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092',
        broker: '127.0.0.1:9092',
        clientId: 'cdc',
        stack: 'Error: connect ECONNREFUSED\n    at ...',
      }),
    );
    expect(line).toEqual({
      level: 'warn',
      msg: 'kafka broker 127.0.0.1:9092: Connection error: connect ECONNREFUSED 127.0.0.1:9092',
      fields: { broker: '127.0.0.1:9092', err: 'Connection error: connect ECONNREFUSED 127.0.0.1:9092' },
    });
  });

  it("sends the BrokerPool's repeat of the same attempt and retried protocol replies to debug", () => {
    const repeat = entry(logLevel.ERROR, 'BrokerPool', {
      message: 'Failed to connect to seed broker, trying another broker from the list: Connection error',
    });
    const reply = entry(logLevel.ERROR, 'Connection', {
      message: 'Response GroupCoordinator(key: 10, version: 2)',
      error: 'The group coordinator is not available',
    });
    expect(summariseKafkaLog(repeat).level).toBe('debug');
    expect(summariseKafkaLog(reply).level).toBe('debug');
  });

  it('keeps other errors as one line with the message and the error alone', () => {
    const line = summariseKafkaLog(
      entry(logLevel.ERROR, 'Consumer', {
        message: 'Crash: KafkaJSNumberOfRetriesExceeded',
        error: 'Connection error',
        groupId: 'g',
        stack: 'long',
        retryCount: 5,
      }),
    );
    expect(line).toEqual({
      level: 'error',
      msg: 'kafka Consumer: Crash: KafkaJSNumberOfRetriesExceeded',
      fields: { err: 'Connection error', groupId: 'g' },
    });
  });

  it('puts info and debug entries, with their raw fields, at debug', () => {
    const line = summariseKafkaLog(entry(logLevel.INFO, 'Consumer', { message: 'Starting', groupId: 'g' }));
    expect(line.level).toBe('debug');
    expect(line.fields).toMatchObject({ kafka: { groupId: 'g' } });
  });
});

describe('RepeatFilter', () => {
  it('lets one line through per window when several clients fail on the same broker at once', () => {
    const filter = new RepeatFilter(1_000);
    const line = { level: 'warn' as const, msg: 'kafka broker b:1: refused', fields: {} };
    expect(filter.admit(line, 0)).toBe(true);
    expect(filter.admit(line, 10)).toBe(false);
    expect(filter.admit({ ...line, msg: 'kafka broker b:2: refused' }, 20)).toBe(true);
    expect(filter.admit(line, 1_001)).toBe(true);
    expect(filter.admit({ level: 'debug', msg: 'x', fields: {} }, 1_002)).toBe(true);
    expect(filter.admit({ level: 'debug', msg: 'x', fields: {} }, 1_003)).toBe(true);
  });
});
