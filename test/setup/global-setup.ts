import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { stackDown, stackUp } from '../../libs/stack/src';
import { startContainers } from './containers';

import type {} from '../../libs/testing/src'; // declares the provided `endpoints` (libs/testing/src/endpoints.ts)

const ROOT = join(__dirname, '..', '..');
/** Projects whose tests talk to the engines (vitest.config.ts, vitest.containers.config.ts). */
const NEEDS_ENGINES = new Set(['integration', 'e2e', 'e2e-containers']);
const CHOICES = ['env', 'native', 'containers'] as const;
type Choice = (typeof CHOICES)[number];

type Endpoints = { redisUrl: string; kafkaBrokers: string; dynamodbEndpoint: string };
type Started = { endpoints: Endpoints; teardown?: () => Promise<void> };

const log = (line: string) => process.stderr.write(`[engines] ${line}\n`);

function fromEnv(): Started {
  const { REDIS_URL, KAFKA_BROKERS, DYNAMODB_ENDPOINT } = process.env;
  if (!REDIS_URL || !KAFKA_BROKERS || !DYNAMODB_ENDPOINT)
    throw new Error('REDIS_URL, KAFKA_BROKERS and DYNAMODB_ENDPOINT are not all set');
  return {
    endpoints: { redisUrl: REDIS_URL, kafkaBrokers: KAFKA_BROKERS, dynamodbEndpoint: DYNAMODB_ENDPOINT },
  };
}

async function native(): Promise<Started> {
  const stateDir = join(ROOT, '.cdc', 'test-stack');
  const cacheDir = join(ROOT, '.cdc', 'engines');
  const started = Date.now();
  const result = await stackUp({ stateDir, cacheDir, fastStart: true, log });
  log(
    `native stack ${result.reused ? 'reused' : 'ready'} in ${Date.now() - started} ms: ` +
      result.engines.map((e) => `${e.name} ${e.readyMs ?? '?'} ms`).join(', '),
  );
  return {
    endpoints: result.endpoints,
    teardown: result.reused ? undefined : async () => void (await stackDown({ stateDir, log })),
  };
}

async function containers(): Promise<Started> {
  const started = Date.now();
  const stack = await startContainers(log);
  log(`containers ready (testcontainers, ${stack.images} images) in ${Date.now() - started} ms`);
  return { endpoints: stack.endpoints, teardown: () => stack.stop() };
}

const START: Record<Choice, () => Promise<Started> | Started> = { env: fromEnv, native, containers };

/**
 * Engines for the integration and end-to-end suites. CDC_TEST_ENGINES=env|native|containers picks one (and only
 * that one); unset, the first that works of:
 *   1. endpoints from the environment (REDIS_URL, KAFKA_BROKERS, DYNAMODB_ENDPOINT all set);
 *   2. a native local stack (redis-server + Kafka KRaft + DynamoDB Local JVMs), started here and stopped after;
 *   3. the same three as containers (testcontainers, host networking: test/setup/containers.ts);
 *   4. otherwise one error naming the three options. A suite never skips for want of an engine.
 */
export default async function setup(project: TestProject): Promise<(() => Promise<void>) | undefined> {
  const selected = project.vitest.projects.map((p) => p.name);
  if (!selected.some((name) => NEEDS_ENGINES.has(name))) return undefined; // unit tests only

  const forced = process.env.CDC_TEST_ENGINES;
  if (forced !== undefined && forced !== '' && !(CHOICES as readonly string[]).includes(forced)) {
    throw new Error(`CDC_TEST_ENGINES must be one of ${CHOICES.join(', ')} (or unset), not "${forced}"`);
  }
  const order: readonly Choice[] = forced ? [forced as Choice] : CHOICES;
  const { REDIS_URL, KAFKA_BROKERS, DYNAMODB_ENDPOINT } = process.env;
  const envComplete = Boolean(REDIS_URL && KAFKA_BROKERS && DYNAMODB_ENDPOINT);
  const attempts: string[] = [];
  for (const choice of order) {
    if (choice === 'env' && !forced && !envComplete) continue; // the chain's first step applies only when set
    try {
      const { endpoints, teardown } = await START[choice]();
      project.provide('endpoints', endpoints);
      return teardown;
    } catch (err) {
      attempts.push(`${choice}: ${(err as Error).message}`);
    }
  }
  throw new Error(
    'The integration and e2e suites need real Redis, Kafka and DynamoDB Local, and none could be had.\n' +
      'Options: (1) set REDIS_URL, KAFKA_BROKERS and DYNAMODB_ENDPOINT to running engines; ' +
      '(2) install Java 17, Maven and redis-server for the native stack; (3) run a Docker engine ' +
      '(CDC_TEST_ENGINES=containers; docs/containers.md).\n' +
      `Tried${forced ? ` (CDC_TEST_ENGINES=${forced})` : ''}:\n  ${attempts.join('\n  ')}`,
  );
}
