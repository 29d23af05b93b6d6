import { connect } from 'node:net';
import type { KafkaConfig } from '@cdc/config';
import { DependencyError, type Logger, retryDependency, type StartupCheck } from '@cdc/observability';
import { Kafka, logLevel } from 'kafkajs';
import { connectionOptions } from './client';

const ATTEMPT_TIMEOUT_MS = 5_000;

/** What a failed connection to Kafka means and what to do (pure). */
export function kafkaProblem(err: unknown): { problem: string; fix: string; permanent: boolean } {
  const e = err as { name?: string; message?: string; cause?: { name?: string; message?: string } };
  const root = e.cause?.message ? e.cause : e;
  const name = root.name ?? '';
  const text = root.message ?? String(err);
  if (name === 'KafkaJSSASLAuthenticationError' || /SASL .*authentication failed/i.test(text))
    return {
      problem: `SASL authentication failed (${text})`,
      fix: 'check KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD',
      permanent: true,
    };
  if (/AUTHORIZATION_FAILED|not authorized/i.test(text))
    return {
      problem: `not authorized (${text})`,
      fix: "grant this principal the ACLs it needs (docs/operations.md lists each app's)",
      permanent: true,
    };
  if (/ECONNREFUSED/.test(text))
    return {
      problem: `unreachable (${text.replace(/^Connection error: /, '')})`,
      fix: 'start Kafka there (`npx cdc stack up` runs one locally) or point KAFKA_BROKERS at a running broker',
      permanent: false,
    };
  if (/ENOTFOUND|EAI_AGAIN/.test(text))
    return {
      problem: `host not found (${text.replace(/^Connection error: /, '')})`,
      fix: 'check the host names in KAFKA_BROKERS',
      permanent: false,
    };
  if (/wrong version number|EPROTO|certificate|self.signed|SSL routines/i.test(text))
    return {
      problem: `TLS handshake failed (${text})`,
      fix: 'set KAFKA_SSL=true only for a TLS listener, and a private CA in KAFKA_SSL_CA_FILE',
      permanent: true,
    };
  if (/Connection timeout|ETIMEDOUT|Request .*timed out/i.test(text))
    return {
      problem: `no answer (${text})`,
      fix: 'check the address in KAFKA_BROKERS and any firewall or security group on the way',
      permanent: false,
    };
  if (/Closed connection|ECONNRESET/.test(text))
    return {
      problem: `the broker closed the connection (${text})`,
      fix: 'a TLS listener needs KAFKA_SSL=true, a SASL one KAFKA_SASL_MECHANISM and its credentials',
      permanent: false,
    };
  return { problem: text, fix: 'check KAFKA_BROKERS and the broker logs', permanent: false };
}

function tcpReachable(host: string, port: number, timeoutMs: number): Promise<string | undefined> {
  return new Promise((resolve) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    const done = (problem: string | undefined) => {
      socket.destroy();
      resolve(problem);
    };
    socket.once('connect', () => done(undefined));
    socket.once('timeout', () => done(`no answer within ${timeoutMs} ms`));
    socket.once('error', (err: NodeJS.ErrnoException) => done(err.code ?? err.message));
  });
}

/**
 * One attempt: a seed answers with the cluster's brokers, and every broker is reachable at the address it
 * advertises (clients connect there after the first metadata answer, whatever KAFKA_BROKERS says).
 */
async function probeKafka(cfg: KafkaConfig): Promise<void> {
  const endpoint = cfg.brokers.join(',');
  const kafka = new Kafka({
    clientId: cfg.clientId,
    ...connectionOptions(cfg),
    connectionTimeout: ATTEMPT_TIMEOUT_MS,
    requestTimeout: ATTEMPT_TIMEOUT_MS,
    retry: { retries: 0 },
    logLevel: logLevel.NOTHING, // the attempt's outcome is logged once, by retryDependency
  });
  const admin = kafka.admin();
  let brokers: Array<{ nodeId: number; host: string; port: number }>;
  try {
    await admin.connect();
    brokers = (await admin.describeCluster()).brokers;
  } catch (err) {
    const { problem, fix, permanent } = kafkaProblem(err);
    throw new DependencyError('Kafka', endpoint, problem, fix, permanent);
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
  for (const b of brokers) {
    const problem = await tcpReachable(b.host, b.port, ATTEMPT_TIMEOUT_MS);
    if (problem)
      throw new DependencyError(
        'Kafka broker',
        `${b.host}:${b.port} (node ${b.nodeId}, as the cluster at ${endpoint} advertises it)`,
        `unreachable (${problem})`,
        'clients connect where a broker advertises itself: its advertised.listeners (KAFKA_ADVERTISED_LISTENERS in Docker) must be an address this host can reach',
      );
  }
}

/** Kafka answers within `timeoutMs`, retried with one log line per failed attempt. */
export function checkKafka(cfg: KafkaConfig, opts: { timeoutMs: number; log: Logger }): Promise<void> {
  return retryDependency(() => probeKafka(cfg), opts);
}

export const kafkaStartupCheck: StartupCheck = {
  name: 'Kafka',
  run: (config, log) =>
    checkKafka(config.require('kafka').kafka, { timeoutMs: config.startupTimeoutMs, log }),
};
