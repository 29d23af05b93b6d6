import { describe, expect, it } from 'vitest';
import { kafkaProblem } from './preflight';

/** kafkajs wraps the connection error of the last attempt (KafkaJSNumberOfRetriesExceeded, cause = the error). */
const wrapped = (name: string, message: string) =>
  Object.assign(new Error(message), { name: 'KafkaJSNumberOfRetriesExceeded', cause: { name, message } });

describe('kafkaProblem', () => {
  it('retries a refused connection and says how to get a broker', () => {
    const p = kafkaProblem(
      wrapped('KafkaJSConnectionError', 'Connection error: connect ECONNREFUSED 127.0.0.1:9092'),
    );
    expect(p).toEqual({
      problem: 'unreachable (connect ECONNREFUSED 127.0.0.1:9092)',
      fix: 'start Kafka there (`npx cdc stack up` runs one locally) or point KAFKA_BROKERS at a running broker',
      permanent: false,
    });
  });

  it('gives up at once on rejected SASL credentials, naming the variables', () => {
    const p = kafkaProblem(
      wrapped(
        'KafkaJSSASLAuthenticationError',
        'SASL SCRAM SHA256 authentication failed: Authentication failed',
      ),
    );
    expect(p.permanent).toBe(true);
    expect(p.fix).toContain('KAFKA_SASL_PASSWORD');
  });

  it('names an unknown host and a TLS mismatch', () => {
    expect(
      kafkaProblem(wrapped('KafkaJSConnectionError', 'Connection error: getaddrinfo ENOTFOUND k.invalid'))
        .problem,
    ).toBe('host not found (getaddrinfo ENOTFOUND k.invalid)');
    const tls = kafkaProblem(wrapped('KafkaJSConnectionError', 'Connection error: wrong version number'));
    expect(tls.fix).toContain('KAFKA_SSL');
  });
});
