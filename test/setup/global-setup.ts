import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { stackDown, stackUp } from '../../libs/stack/src';
import { startContainers } from './containers';

import type {} from '../../libs/testing/src'; // declares the provided `endpoints` (libs/testing/src/endpoints.ts)

const ROOT = join(__dirname, '..', '..');
const NEEDS_ENGINES = new Set(['integration', 'e2e']);

/**
 * Engines for the integration and end-to-end suites, in this order:
 *   1. endpoints from the environment (REDIS_URL, KAFKA_BROKERS, DYNAMODB_ENDPOINT all set);
 *   2. a native local stack (redis-server + Kafka KRaft + DynamoDB Local JVMs), started here and stopped after;
 *   3. the same three as containers (testcontainers) where a Docker engine answers;
 *   4. otherwise one error naming the three options. A suite never skips for want of an engine.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const selected = project.vitest.projects.map((p) => p.name);
  if (!selected.some((name) => NEEDS_ENGINES.has(name))) return undefined; // unit tests only

  const { REDIS_URL, KAFKA_BROKERS, DYNAMODB_ENDPOINT } = process.env;
  if (REDIS_URL && KAFKA_BROKERS && DYNAMODB_ENDPOINT) {
    project.provide('endpoints', {
      redisUrl: REDIS_URL,
      kafkaBrokers: KAFKA_BROKERS,
      dynamodbEndpoint: DYNAMODB_ENDPOINT,
    });
    return undefined;
  }

  const stateDir = join(ROOT, '.cdc', 'test-stack');
  const cacheDir = join(ROOT, '.cdc', 'engines');
  const log = (line: string) => process.stderr.write(`[engines] ${line}\n`);
  const attempts: string[] = [];
  try {
    const started = Date.now();
    const result = await stackUp({ stateDir, cacheDir, fastStart: true, log });
    log(
      `native stack ${result.reused ? 'reused' : 'ready'} in ${Date.now() - started} ms: ` +
        result.engines.map((e) => `${e.name} ${e.readyMs ?? '?'} ms`).join(', '),
    );
    project.provide('endpoints', result.endpoints);
    return async () => {
      if (!result.reused) await stackDown({ stateDir, log });
    };
  } catch (err) {
    attempts.push(`native: ${(err as Error).message}`);
  }
  try {
    const containers = await startContainers();
    log('containers ready (testcontainers)');
    project.provide('endpoints', containers.endpoints);
    return () => containers.stop();
  } catch (err) {
    attempts.push(`containers: ${(err as Error).message}`);
  }
  throw new Error(
    'The integration and e2e suites need real Redis, Kafka and DynamoDB Local, and none could be had.\n' +
      'Options: (1) set REDIS_URL, KAFKA_BROKERS and DYNAMODB_ENDPOINT to running engines; ' +
      '(2) install Java 17, Maven and redis-server for the native stack; (3) run a Docker engine.\n' +
      `Tried:\n  ${attempts.join('\n  ')}`,
  );
}
