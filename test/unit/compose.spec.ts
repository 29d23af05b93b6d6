import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type CdcConfig, loadConfig } from '@cdc/config';
import { missingClasses } from '@cdc/redis';
import {
  APP_ENGINES,
  APPS,
  type AppName,
  appExists,
  appSpec,
  APP_SOURCE_DIRS,
  commandArgs,
  type Compose,
  dependsOn,
  type Engine,
  ENDPOINT_VARIABLES,
  engineOf,
  ENGINES,
  envOf,
  flagValue,
  kafkaListeners,
  listenPorts,
  loadComposeFiles,
  type Published,
  publishedPorts,
  ROOT,
  SCHEMA_KEYS,
  SDK_VARIABLES,
  type Service,
} from './compose-model';

/**
 * The container setup (docker-compose.yml + docker-compose.override.yml + Dockerfile) is run for real by
 * test/containers (host networking), but what a normal Docker host runs (a bridge network, published ports) is
 * kept honest by reading it: every check below is a pure function returning a list of problems, run once on the
 * real files (must be empty) and once on a deliberately broken copy (must name the break).
 */

const DOCKERFILE_TEXT = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');

// ---------------------------------------------------------------------------------------------------- checks

function checkServicesExist(c: Compose): string[] {
  return [...ENGINES, ...APPS].filter((s) => !c.services[s]).map((s) => `service "${s}" is missing`);
}

function checkRedis(c: Compose): string[] {
  const svc = c.services.redis;
  if (!svc) return ['service "redis" is missing'];
  const problems: string[] = [];
  if (engineOf(svc) !== 'redis') problems.push(`redis: image "${svc.image}" is not redis`);
  const args = commandArgs(svc);
  const events = flagValue(args, '--notify-keyspace-events');
  if (events === undefined)
    problems.push('redis: command does not set --notify-keyspace-events (capture needs it)');
  else if (missingClasses(events)) {
    problems.push(
      `redis: --notify-keyspace-events "${events}" lacks classes "${missingClasses(events)}" (use KEA)`,
    );
  }
  if (!svc.healthcheck?.test || !JSON.stringify(svc.healthcheck.test).includes('redis-cli')) {
    problems.push('redis: healthcheck should run redis-cli ping');
  }
  return problems;
}

function checkDynamo(c: Compose): string[] {
  const svc = c.services.dynamodb;
  if (!svc) return ['service "dynamodb" is missing'];
  const problems: string[] = [];
  if (engineOf(svc) !== 'dynamodb')
    problems.push(`dynamodb: image "${svc.image}" is not amazon/dynamodb-local`);
  const args = commandArgs(svc);
  for (const flag of ['-inMemory', '-sharedDb']) {
    if (!args.includes(flag)) problems.push(`dynamodb: command lacks ${flag}`);
  }
  if (!svc.healthcheck?.test) problems.push('dynamodb: no healthcheck (apps wait for service_healthy)');
  return problems;
}

function checkKafka(c: Compose): string[] {
  const svc = c.services.kafka;
  if (!svc) return ['service "kafka" is missing'];
  const problems: string[] = [];
  if (svc.image !== 'apache/kafka:3.9.1') {
    problems.push(
      `kafka: image is "${svc.image}", must be exactly apache/kafka:3.9.1 (kafkajs 2.2.4 compatible)`,
    );
  }
  const env = envOf(svc);
  const roles = (env.KAFKA_PROCESS_ROLES ?? '').split(',').map((r) => r.trim());
  if (!roles.includes('broker') || !roles.includes('controller')) {
    problems.push('kafka: KAFKA_PROCESS_ROLES must be broker,controller (single-node KRaft)');
  }
  const expected: Record<string, string> = {
    KAFKA_OFFSETS_TOPIC_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_REPLICATION_FACTOR: '1',
    KAFKA_TRANSACTION_STATE_LOG_MIN_ISR: '1',
    KAFKA_GROUP_INITIAL_REBALANCE_DELAY_MS: '0',
    KAFKA_AUTO_CREATE_TOPICS_ENABLE: 'false',
  };
  for (const [k, v] of Object.entries(expected)) {
    if (env[k] !== v) problems.push(`kafka: ${k} is ${JSON.stringify(env[k])}, expected "${v}"`);
  }
  for (const k of [
    'KAFKA_NODE_ID',
    'KAFKA_LISTENERS',
    'KAFKA_ADVERTISED_LISTENERS',
    'KAFKA_CONTROLLER_QUORUM_VOTERS',
    'KAFKA_CONTROLLER_LISTENER_NAMES',
    'KAFKA_LISTENER_SECURITY_PROTOCOL_MAP',
    'KAFKA_INTER_BROKER_LISTENER_NAME',
  ]) {
    if (!env[k]) problems.push(`kafka: ${k} is not set`);
  }
  const listeners = kafkaListeners(env.KAFKA_LISTENERS);
  const advertised = kafkaListeners(env.KAFKA_ADVERTISED_LISTENERS);
  const protocols = new Map(
    (env.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '')
      .split(',')
      .map((p) => p.trim().split(':') as [string, string]),
  );
  for (const l of [...listeners, ...advertised]) {
    if (!protocols.has(l.name)) problems.push(`kafka: listener ${l.name} has no security protocol mapping`);
  }
  const controllers = (env.KAFKA_CONTROLLER_LISTENER_NAMES ?? '').split(',');
  if (advertised.some((l) => controllers.includes(l.name)))
    problems.push('kafka: a CONTROLLER listener is advertised');
  // Host clients: an advertised 127.0.0.1/localhost listener needs the same port published on the host.
  const published = publishedPorts(svc);
  for (const adv of advertised.filter((l) => l.host === '127.0.0.1' || l.host === 'localhost')) {
    const bound = listeners.find((l) => l.name === adv.name);
    const ok = published.some((p) => p.published === adv.port && p.target === bound?.port);
    if (!ok)
      problems.push(`kafka: ${adv.name} advertises ${adv.host}:${adv.port} but that port is not published`);
  }
  if (!JSON.stringify(svc.healthcheck?.test ?? '').includes('kafka-broker-api-versions.sh')) {
    problems.push('kafka: healthcheck should run /opt/kafka/bin/kafka-broker-api-versions.sh');
  }
  return problems;
}

/** Is host:port (as an app in the compose network would dial it) served by a service of the right engine? */
function endpointProblems(
  c: Compose,
  app: string,
  variable: string,
  engine: Engine,
  host: string,
  port: number,
) {
  const target = c.services[host];
  const where = `${app}: ${variable} points at ${host}:${port}`;
  if (!target) return [`${where}, but there is no service "${host}"`];
  if (engineOf(target) !== engine) return [`${where}, but service "${host}" is not ${engine}`];
  if (!listenPorts(target).includes(port)) {
    return [`${where}, but "${host}" listens on ${listenPorts(target).join(', ') || 'nothing known'}`];
  }
  if (engine === 'kafka') {
    // The bootstrap broker answers with its advertised address: that must be the same name:port, bound on all
    // interfaces of the container, or clients connect once and then fail.
    const env = envOf(target);
    const adv = kafkaListeners(env.KAFKA_ADVERTISED_LISTENERS).find(
      (l) => l.host === host && l.port === port,
    );
    if (!adv) return [`${where}, but kafka advertises no listener as ${host}:${port}`];
    const bound = kafkaListeners(env.KAFKA_LISTENERS).find((l) => l.name === adv.name);
    if (!bound || bound.port !== port || !['', '0.0.0.0', '[::]'].includes(bound.host)) {
      return [`${where}, but listener ${adv.name} is not bound on all interfaces at port ${port}`];
    }
  }
  return [];
}

/** Environment keys, values (through the real loadConfig) and endpoints of one app service. */
function checkAppEnv(c: Compose, app: AppName): string[] {
  const svc = c.services[app];
  if (!svc) return [`service "${app}" is missing`];
  const problems: string[] = [];
  const env = envOf(svc);
  for (const [k, v] of Object.entries(env)) {
    if (!SCHEMA_KEYS.has(k) && !SDK_VARIABLES.has(k)) {
      problems.push(`${app}: environment key ${k} is neither in the config schema nor an AWS SDK variable`);
    }
    if (v === null) problems.push(`${app}: ${k} has no value (it would be copied from the host)`);
  }
  let config: CdcConfig;
  try {
    config = loadConfig(env as NodeJS.ProcessEnv);
    config.require(...appSpec(app).needs);
  } catch (err) {
    return [...problems, `${app}: loadConfig rejects the environment: ${(err as Error).message}`];
  }
  for (const engine of APP_ENGINES[app]) {
    const variable = ENDPOINT_VARIABLES[engine];
    const raw = env[variable];
    if (!raw) {
      problems.push(
        `${app}: ${variable} is not set (it needs ${engine}${engine === 'dynamodb' ? ', else real AWS' : ''})`,
      );
      continue;
    }
    if (engine === 'kafka') {
      for (const broker of config.kafka?.brokers ?? []) {
        const i = broker.lastIndexOf(':');
        problems.push(
          ...endpointProblems(c, app, variable, engine, broker.slice(0, i), Number(broker.slice(i + 1))),
        );
      }
      const kafkaEnv = envOf(c.services.kafka ?? {});
      const adv = kafkaListeners(kafkaEnv.KAFKA_ADVERTISED_LISTENERS);
      const protocols = new Map(
        (kafkaEnv.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '')
          .split(',')
          .map((p) => p.split(':') as [string, string]),
      );
      for (const broker of config.kafka?.brokers ?? []) {
        const l = adv.find((a) => `${a.host}:${a.port}` === broker);
        if (l && !config.kafka?.ssl && !config.kafka?.sasl && protocols.get(l.name) !== 'PLAINTEXT') {
          problems.push(
            `${app}: ${broker} is ${protocols.get(l.name)} but the app is configured for PLAINTEXT`,
          );
        }
      }
    } else {
      const url = new URL(raw);
      const fallback = engine === 'redis' ? 6379 : url.protocol === 'https:' ? 443 : 80;
      problems.push(
        ...endpointProblems(c, app, variable, engine, url.hostname, Number(url.port || fallback)),
      );
    }
  }
  if (APP_ENGINES[app].includes('dynamodb') && !config.dynamo.endpoint) {
    problems.push(`${app}: DYNAMODB_ENDPOINT unset: it would write to real AWS`);
  }
  return problems;
}

function checkAppPorts(c: Compose, app: AppName): string[] {
  const svc = c.services[app];
  if (!svc) return [`service "${app}" is missing`];
  const httpPort = Number(envOf(svc).HTTP_PORT ?? appSpec(app).defaultPort);
  const ports = publishedPorts(svc);
  if (ports.length !== 1) return [`${app}: publishes ${ports.length} ports, expected exactly 1 (HTTP_PORT)`];
  const [p] = ports as [Published];
  const problems: string[] = [];
  if (p.target !== httpPort || p.published !== httpPort) {
    problems.push(
      `${app}: publishes ${p.published}:${p.target}, expected ${httpPort}:${httpPort} (HTTP_PORT)`,
    );
  }
  if (p.hostIp !== '127.0.0.1')
    problems.push(`${app}: port published on ${p.hostIp ?? 'all interfaces'}, not 127.0.0.1`);
  return problems;
}

function checkAppDependsOn(c: Compose, app: AppName): string[] {
  const svc = c.services[app];
  if (!svc) return [`service "${app}" is missing`];
  const deps = dependsOn(svc);
  const problems: string[] = [];
  for (const engine of APP_ENGINES[app]) {
    if (!(engine in deps)) problems.push(`${app}: depends_on lacks ${engine}`);
    else if (deps[engine] !== 'service_healthy') {
      problems.push(`${app}: depends_on ${engine} is ${deps[engine]}, expected service_healthy`);
    }
  }
  for (const [dep, condition] of Object.entries(deps)) {
    const target = c.services[dep];
    if (!target) problems.push(`${app}: depends_on an unknown service "${dep}"`);
    else if (condition === 'service_healthy' && !target.healthcheck?.test) {
      problems.push(`${app}: waits for ${dep} to be healthy, but ${dep} has no healthcheck`);
    }
  }
  return problems;
}

/** capture writes the topic the applier reads; the applier writes the table the verifier reads. */
function checkSharedNames(c: Compose): string[] {
  const configs: Partial<Record<AppName, CdcConfig>> = {};
  for (const app of APPS) {
    try {
      configs[app] = loadConfig(envOf(c.services[app] ?? {}) as NodeJS.ProcessEnv);
    } catch {
      return [`${app}: environment does not load`];
    }
  }
  const { capture, applier, verifier } = configs as Record<AppName, CdcConfig>;
  const problems: string[] = [];
  if (capture.topic !== applier.topic)
    problems.push(`capture writes ${capture.topic}, applier reads ${applier.topic}`);
  if (applier.table !== verifier.table)
    problems.push(`applier writes ${applier.table}, verifier reads ${verifier.table}`);
  return problems;
}

// ------------------------------------------------------------------------------------------------ Dockerfile

interface Stage {
  /** The base image with global ARG defaults substituted (what a build without --build-arg uses). */
  from: string;
  /** As written, e.g. ${BASE_IMAGE}. */
  fromRaw: string;
  name: string | undefined;
  instructions: Array<{ op: string; args: string }>;
}

/** Logical instructions (continuations joined, comments dropped), grouped by FROM. */
function parseDockerfile(text: string): Stage[] {
  const lines: string[] = [];
  let current = '';
  for (const raw of text.split('\n')) {
    if (/^\s*#/.test(raw)) continue;
    const line = raw.trimEnd();
    if (line.endsWith('\\')) {
      current += `${line.slice(0, -1)} `;
      continue;
    }
    current += line;
    if (current.trim()) lines.push(current.trim().replace(/\s+/g, ' '));
    current = '';
  }
  const stages: Stage[] = [];
  const globalArgs = new Map<string, string>(); // ARGs before the first FROM: usable in FROM lines only
  for (const line of lines) {
    const [op = '', ...rest] = line.split(' ');
    const args = rest.join(' ');
    if (op.toUpperCase() === 'FROM') {
      const m = /^(?:--platform=\S+ )?(\S+)(?: [Aa][Ss] (\S+))?$/.exec(args);
      const raw = m?.[1] ?? args;
      const from = raw.replace(/\$\{?([A-Za-z_][A-Za-z0-9_]*)\}?/g, (v, n: string) => globalArgs.get(n) ?? v);
      stages.push({ from, fromRaw: raw, name: m?.[2], instructions: [] });
    } else if (stages.length === 0 && op.toUpperCase() === 'ARG') {
      const [name = '', ...value] = args.split('=');
      globalArgs.set(name, value.join('='));
    } else {
      stages.at(-1)?.instructions.push({ op: op.toUpperCase(), args });
    }
  }
  return stages;
}

function lastOf(stage: Stage, op: string): string | undefined {
  return stage.instructions.filter((i) => i.op === op).at(-1)?.args;
}

/** The JS path the final stage starts, with $APP/${APP} left in place. */
function startCommand(stage: Stage): string | undefined {
  const cmd = [lastOf(stage, 'ENTRYPOINT'), lastOf(stage, 'CMD')].filter(Boolean).join(' ');
  return /dist\/apps\/(\$\{?APP\}?|[a-z0-9-]+)\/main\.js/.exec(cmd)?.[0];
}

function checkDockerfile(text: string): string[] {
  const stages = parseDockerfile(text);
  const problems: string[] = [];
  const build = stages.find((s) => s.name === 'build');
  const runtime = stages.at(-1);
  if (!build) return ['Dockerfile: no stage named "build"'];
  if (!runtime || runtime === build) return ['Dockerfile: no runtime stage after the build stage'];
  for (const s of [build, runtime]) {
    if (s.from !== 'node:20-bookworm-slim') problems.push(`Dockerfile: stage ${s.name} is FROM ${s.from}`);
    // One build argument swaps both stages' base (a local image where no registry answers: docs/containers.md).
    if (s.fromRaw !== '${BASE_IMAGE}')
      problems.push(`Dockerfile: stage ${s.name} is FROM ${s.fromRaw}, not \${BASE_IMAGE}`);
  }
  const buildRuns = build.instructions.filter((i) => i.op === 'RUN').map((i) => i.args);
  const runsInOrder = ['npm ci', 'npm run build', 'npm prune --omit=dev'].map((cmd) =>
    buildRuns.join(' && ').indexOf(cmd),
  );
  if (runsInOrder.some((i) => i < 0) || runsInOrder.some((v, i) => i > 0 && v < (runsInOrder[i - 1] ?? 0))) {
    problems.push('Dockerfile: build stage must run npm ci, then npm run build, then npm prune --omit=dev');
  }
  if (!buildRuns.some((r) => /npm ci\b.*--ignore-scripts/.test(r))) {
    problems.push(
      'Dockerfile: npm ci without --ignore-scripts runs `prepare` (the build) before sources are copied',
    );
  }
  const user = lastOf(runtime, 'USER');
  if (!user || /^(root|0)(:.*)?$/.test(user))
    problems.push(`Dockerfile: runtime runs as ${user ?? 'root (no USER)'}`);
  const copies = runtime.instructions.filter(
    (i) => i.op === 'COPY' && i.args.includes(`--from=${build.name}`),
  );
  for (const what of ['dist', 'node_modules', 'package.json', 'bin']) {
    if (!copies.some((cp) => new RegExp(`/${what}(\\s|$)`).test(cp.args))) {
      problems.push(`Dockerfile: runtime does not copy ${what} from the build stage`);
    }
  }
  const envs = runtime.instructions.filter((i) => i.op === 'ENV').map((i) => i.args);
  if (!envs.some((e) => /\bNODE_ENV=production\b/.test(e)))
    problems.push('Dockerfile: runtime lacks NODE_ENV=production');
  const exposed = runtime.instructions.filter((i) => i.op === 'EXPOSE').flatMap((i) => i.args.split(' '));
  const healthcheck = lastOf(runtime, 'HEALTHCHECK') ?? '';
  if (!/fetch\(/.test(healthcheck) || !healthcheck.includes('/health')) {
    problems.push('Dockerfile: HEALTHCHECK should fetch /health with node');
  }
  for (const app of APPS) {
    const { defaultPort } = appSpec(app);
    if (!exposed.includes(String(defaultPort)))
      problems.push(`Dockerfile: does not EXPOSE ${defaultPort} (${app})`);
    if (!new RegExp(`\\b${app}:${defaultPort}\\b`).test(healthcheck)) {
      problems.push(
        `Dockerfile: HEALTHCHECK's default port for ${app} is not ${defaultPort} (apps/${app}/src/main.ts)`,
      );
    }
  }
  // Exec form must be valid JSON: Docker silently falls back to shell form (`/bin/sh -c '[...'`) otherwise.
  for (const i of runtime.instructions.filter((x) => ['CMD', 'ENTRYPOINT', 'HEALTHCHECK'].includes(x.op))) {
    const exec = /^(?:.*?\bCMD )?(\[.*)$/.exec(i.args)?.[1];
    if (exec === undefined) continue;
    try {
      JSON.parse(exec);
    } catch {
      problems.push(`Dockerfile: ${i.op} exec form is not valid JSON`);
    }
  }
  const start = startCommand(runtime);
  if (!start) problems.push('Dockerfile: CMD/ENTRYPOINT does not start dist/apps/<app>/main.js');
  else if (start.includes('APP')) {
    const arg = runtime.instructions.find((i) => i.op === 'ARG' && /^APP(=|$)/.test(i.args));
    if (!arg) problems.push('Dockerfile: CMD uses $APP but the runtime stage declares no ARG APP');
    const fallback = arg?.args.split('=')[1];
    if (fallback !== undefined && !appExists(fallback))
      problems.push(`Dockerfile: ARG APP default "${fallback}" is no app`);
    if (!envs.some((e) => /\bAPP=\$\{?APP\}?/.test(e)))
      problems.push('Dockerfile: ARG APP is not carried into ENV APP');
  }
  return problems;
}

/** Each app service builds this Dockerfile for itself, and the path the image starts is an app under apps/. */
function checkAppBuild(c: Compose, app: AppName, dockerfile: string): string[] {
  const svc = c.services[app];
  if (!svc) return [`service "${app}" is missing`];
  const build = typeof svc.build === 'string' ? { context: svc.build } : svc.build;
  if (!build) return [`${app}: no build section`];
  const problems: string[] = [];
  if ((build.context ?? '.') !== '.') problems.push(`${app}: build context is ${build.context}, expected .`);
  if ((build.dockerfile ?? 'Dockerfile') !== 'Dockerfile')
    problems.push(`${app}: builds ${build.dockerfile}`);
  const args = Array.isArray(build.args)
    ? Object.fromEntries(build.args.map((a) => [a.split('=')[0], a.split('=').slice(1).join('=')]))
    : Object.fromEntries(Object.entries(build.args ?? {}).map(([k, v]) => [k, String(v)]));
  const runtime = parseDockerfile(dockerfile).at(-1);
  const start = runtime && startCommand(runtime);
  if (!runtime || !start) return [...problems, `${app}: the Dockerfile starts no dist/apps/<app>/main.js`];
  const fallback = runtime.instructions
    .find((i) => i.op === 'ARG' && /^APP=/.test(i.args))
    ?.args.split('=')[1];
  const chosen = args.APP ?? fallback;
  const path = start.replace(/\$\{?APP\}?/, chosen ?? '<unset>');
  const started = /^dist\/apps\/([^/]+)\/main\.js$/.exec(path)?.[1] ?? '';
  if (!appExists(started))
    problems.push(`${app}: the image starts ${path}, but apps/${started}/src/main.ts does not exist`);
  else if (started !== app) problems.push(`${app}: the image starts ${path}, i.e. the ${started} app`);
  return problems;
}

// ------------------------------------------------------------------------------------------------------ tests

/** What `docker compose up` runs on a normal Docker host: docker-compose.yml + docker-compose.override.yml. */
const compose = loadComposeFiles(['docker-compose.yml', 'docker-compose.override.yml']);
const broken = (mutate: (c: Compose) => void): Compose => {
  const copy = structuredClone(compose);
  mutate(copy);
  return copy;
};
const svc = (c: Compose, name: string): Service => c.services[name] as Service;
const envMap = (c: Compose, name: string): Record<string, unknown> =>
  svc(c, name).environment as Record<string, unknown>;

describe('docker-compose.yml', () => {
  it('has the three engines and the three apps', () => {
    expect(checkServicesExist(compose)).toEqual([]);
    expect(checkServicesExist(broken((c) => delete c.services.verifier))).toEqual([
      'service "verifier" is missing',
    ]);
  });

  it('reads the env schema keys through the superRefine wrapper', () => {
    for (const k of [
      'REDIS_URL',
      'KAFKA_BROKERS',
      'DYNAMODB_ENDPOINT',
      'AWS_REGION',
      'CDC_SOURCE_ID',
      'HTTP_PORT',
    ]) {
      expect(SCHEMA_KEYS.has(k), k).toBe(true);
    }
    expect(APP_SOURCE_DIRS).toEqual(new Set(APPS));
  });

  it('runs Redis with the keyspace notifications capture needs', () => {
    expect(checkRedis(compose)).toEqual([]);
    const off = broken((c) => {
      svc(c, 'redis').command = ['redis-server', '--save', '', '--appendonly', 'no'];
    });
    expect(checkRedis(off)).toEqual([expect.stringContaining('does not set --notify-keyspace-events')]);
    const partial = broken((c) => {
      svc(c, 'redis').command = 'redis-server --notify-keyspace-events Kg --save ""';
    });
    expect(checkRedis(partial)).toEqual([expect.stringContaining('lacks classes "E$lshzxet"')]);
    const allClasses = broken((c) => {
      svc(c, 'redis').command = 'redis-server --notify-keyspace-events "Eg$lshzxet"';
    });
    expect(checkRedis(allClasses)).toEqual([]);
  });

  it('runs Kafka 3.9.1 in single-node KRaft mode with a compose-network and a host listener', () => {
    expect(checkKafka(compose)).toEqual([]);
    expect(checkKafka(broken((c) => (svc(c, 'kafka').image = 'apache/kafka:4.0.0')))).toEqual([
      expect.stringContaining('must be exactly apache/kafka:3.9.1'),
    ]);
    expect(checkKafka(broken((c) => (envMap(c, 'kafka').KAFKA_AUTO_CREATE_TOPICS_ENABLE = 'true')))).toEqual([
      expect.stringContaining('KAFKA_AUTO_CREATE_TOPICS_ENABLE'),
    ]);
    expect(checkKafka(broken((c) => (svc(c, 'kafka').ports = []))).join()).toContain(
      'advertises 127.0.0.1:29092 but that port is not published',
    );
  });

  it('runs DynamoDB Local in memory with a shared database', () => {
    expect(checkDynamo(compose)).toEqual([]);
    const onDisk = broken((c) => {
      svc(c, 'dynamodb').command = ['-jar', 'DynamoDBLocal.jar', '-dbPath', '/data', '-sharedDb'];
    });
    expect(checkDynamo(onDisk)).toEqual(['dynamodb: command lacks -inMemory']);
  });

  describe.each(APPS)('app service %s', (app) => {
    it('sets only schema (or AWS SDK) variables, and they load with loadConfig', () => {
      expect(checkAppEnv(compose, app)).toEqual([]);
    });

    it('points every endpoint at a service and a port it listens on', () => {
      // (part of checkAppEnv; the broken copies below show each way it fails)
      const env = envOf(svc(compose, app));
      for (const engine of APP_ENGINES[app]) expect(env[ENDPOINT_VARIABLES[engine]], engine).toBeTruthy();
    });

    it('publishes HTTP_PORT on 127.0.0.1 and nothing else', () => {
      expect(checkAppPorts(compose, app)).toEqual([]);
      expect(Number(envOf(svc(compose, app)).HTTP_PORT)).toBe(appSpec(app).defaultPort);
    });

    it('waits for the engines it needs to be healthy', () => {
      expect(checkAppDependsOn(compose, app)).toEqual([]);
    });

    it('builds the Dockerfile for itself and starts its own dist/apps/<app>/main.js', () => {
      expect(checkAppBuild(compose, app, DOCKERFILE_TEXT)).toEqual([]);
    });
  });

  it('agrees across apps on the topic and the table', () => {
    expect(checkSharedNames(compose)).toEqual([]);
    const split = broken((c) => (envMap(c, 'applier').CDC_SOURCE_ID = 'other'));
    expect(checkSharedNames(split)).toEqual([
      'capture writes cdc.local.changes, applier reads cdc.other.changes',
      'applier writes cdc_other, verifier reads cdc_local',
    ]);
  });

  describe('the checks catch broken copies', () => {
    it('an environment key outside the schema (and not an SDK variable)', () => {
      const c = broken((x) => {
        envMap(x, 'capture').REDIS_HOST = 'redis';
        envMap(x, 'applier').AWS_PROFILE = 'dev';
      });
      expect(checkAppEnv(c, 'capture')).toEqual([
        'capture: environment key REDIS_HOST is neither in the config schema nor an AWS SDK variable',
      ]);
      expect(checkAppEnv(c, 'applier')).toEqual([
        'applier: environment key AWS_PROFILE is neither in the config schema nor an AWS SDK variable',
      ]);
      // Same check on the list form of `environment:`.
      const listForm = broken((x) => {
        svc(x, 'verifier').environment = [
          ...Object.entries(envOf(svc(x, 'verifier'))).map(([k, v]) => `${k}=${v}`),
          'DYNAMO_URL=x',
        ];
      });
      expect(checkAppEnv(listForm, 'verifier')).toEqual([
        'verifier: environment key DYNAMO_URL is neither in the config schema nor an AWS SDK variable',
      ]);
    });

    it('a value loadConfig rejects, or a missing endpoint the app requires', () => {
      const badUrl = broken((x) => (envMap(x, 'capture').REDIS_URL = 'http://redis:6379'));
      expect(checkAppEnv(badUrl, 'capture')).toEqual([
        expect.stringMatching(
          /^capture: loadConfig rejects the environment: .*REDIS_URL: must start with redis:\/\//s,
        ),
      ]);
      const badPort = broken((x) => (envMap(x, 'applier').HTTP_PORT = 'eighty'));
      expect(checkAppEnv(badPort, 'applier')).toEqual([expect.stringContaining('HTTP_PORT')]);
      const noBrokers = broken((x) => delete envMap(x, 'capture').KAFKA_BROKERS);
      expect(checkAppEnv(noBrokers, 'capture')).toEqual([expect.stringContaining('KAFKA_BROKERS: required')]);
      const toAws = broken((x) => delete envMap(x, 'verifier').DYNAMODB_ENDPOINT);
      expect(checkAppEnv(toAws, 'verifier')).toEqual([
        'verifier: DYNAMODB_ENDPOINT is not set (it needs dynamodb, else real AWS)',
        'verifier: DYNAMODB_ENDPOINT unset: it would write to real AWS',
      ]);
    });

    it('an endpoint at a service that does not exist, a service of another kind, or a port nobody listens on', () => {
      const cases: Array<[AppName, string, string, string]> = [
        ['capture', 'REDIS_URL', 'redis://cache:6379', 'there is no service "cache"'],
        ['capture', 'REDIS_URL', 'redis://redis:6380', '"redis" listens on 6379'],
        ['verifier', 'REDIS_URL', 'redis://kafka:9092', 'service "kafka" is not redis'],
        ['applier', 'KAFKA_BROKERS', 'broker:9092', 'there is no service "broker"'],
        // 29092 is the host listener: advertised as 127.0.0.1, unreachable from another container.
        ['applier', 'KAFKA_BROKERS', 'kafka:29092', 'kafka advertises no listener as kafka:29092'],
        ['applier', 'KAFKA_BROKERS', 'kafka:9093', '"kafka" listens on 9092, 29092'],
        ['applier', 'DYNAMODB_ENDPOINT', 'http://dynamodb:8001', '"dynamodb" listens on 8000'],
        ['verifier', 'DYNAMODB_ENDPOINT', 'http://localhost:8000', 'there is no service "localhost"'],
      ];
      for (const [app, variable, value, message] of cases) {
        const c = broken((x) => (envMap(x, app)[variable] = value));
        expect(checkAppEnv(c, app), `${variable}=${value}`).toEqual([expect.stringContaining(message)]);
      }
      const advertisedElsewhere = broken((x) => {
        envMap(x, 'kafka').KAFKA_ADVERTISED_LISTENERS =
          'PLAINTEXT://localhost:9092,EXTERNAL://127.0.0.1:29092';
      });
      expect(checkAppEnv(advertisedElsewhere, 'capture')).toEqual([
        'capture: KAFKA_BROKERS points at kafka:9092, but kafka advertises no listener as kafka:9092',
      ]);
      const tls = broken((x) => {
        envMap(x, 'kafka').KAFKA_LISTENER_SECURITY_PROTOCOL_MAP =
          'PLAINTEXT:SSL,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT';
      });
      expect(checkAppEnv(tls, 'capture')).toEqual([
        'capture: kafka:9092 is SSL but the app is configured for PLAINTEXT',
      ]);
      const loopbackOnly = broken((x) => {
        envMap(x, 'kafka').KAFKA_LISTENERS =
          'PLAINTEXT://127.0.0.1:9092,EXTERNAL://:29092,CONTROLLER://127.0.0.1:9093';
      });
      expect(checkAppEnv(loopbackOnly, 'applier')).toEqual([
        'applier: KAFKA_BROKERS points at kafka:9092, but listener PLAINTEXT is not bound on all interfaces at port 9092',
      ]);
    });

    it('a published port that is not HTTP_PORT, or not on 127.0.0.1', () => {
      const moved = broken((x) => (envMap(x, 'applier').HTTP_PORT = 9000));
      expect(checkAppPorts(moved, 'applier')).toEqual([
        'applier: publishes 8082:8082, expected 9000:9000 (HTTP_PORT)',
      ]);
      const open = broken((x) => (svc(x, 'verifier').ports = ['8083:8083']));
      expect(checkAppPorts(open, 'verifier')).toEqual([
        'verifier: port published on all interfaces, not 127.0.0.1',
      ]);
      const long = broken(
        (x) => (svc(x, 'capture').ports = [{ target: 8081, published: '8081', host_ip: '127.0.0.1' }]),
      );
      expect(checkAppPorts(long, 'capture')).toEqual([]);
    });

    it('a missing dependency, or one that is only started, not healthy', () => {
      const c = broken((x) => {
        svc(x, 'applier').depends_on = { kafka: { condition: 'service_started' } };
        svc(x, 'capture').depends_on = ['redis', 'kafka'];
        delete svc(x, 'dynamodb').healthcheck;
      });
      expect(checkAppDependsOn(c, 'applier')).toEqual([
        'applier: depends_on kafka is service_started, expected service_healthy',
        'applier: depends_on lacks dynamodb',
      ]);
      expect(checkAppDependsOn(c, 'capture')).toEqual([
        'capture: depends_on redis is service_started, expected service_healthy',
        'capture: depends_on kafka is service_started, expected service_healthy',
      ]);
      expect(checkAppDependsOn(c, 'verifier')).toEqual([
        'verifier: waits for dynamodb to be healthy, but dynamodb has no healthcheck',
      ]);
    });

    it('an image that starts an app that does not exist, or another app', () => {
      const typo = broken(
        (x) => ((svc(x, 'verifier').build as { args: Record<string, string> }).args.APP = 'verifer'),
      );
      expect(checkAppBuild(typo, 'verifier', DOCKERFILE_TEXT)).toEqual([
        'verifier: the image starts dist/apps/verifer/main.js, but apps/verifer/src/main.ts does not exist',
      ]);
      const swapped = broken(
        (x) => ((svc(x, 'applier').build as { args: Record<string, string> }).args.APP = 'capture'),
      );
      expect(checkAppBuild(swapped, 'applier', DOCKERFILE_TEXT)).toEqual([
        'applier: the image starts dist/apps/capture/main.js, i.e. the capture app',
      ]);
      const hardcoded = DOCKERFILE_TEXT.replace('dist/apps/$APP/main.js', 'dist/apps/worker/main.js');
      expect(checkAppBuild(compose, 'capture', hardcoded)).toEqual([
        'capture: the image starts dist/apps/worker/main.js, but apps/worker/src/main.ts does not exist',
      ]);
    });
  });
});

describe('Dockerfile', () => {
  it('has a build stage and a non-root runtime stage that starts dist/apps/$APP/main.js', () => {
    expect(checkDockerfile(DOCKERFILE_TEXT)).toEqual([]);
    const stages = parseDockerfile(DOCKERFILE_TEXT);
    expect(stages.map((s) => s.name)).toEqual(['build', 'runtime']);
    expect(startCommand(stages[1] as Stage)).toBe('dist/apps/$APP/main.js');
  });

  it('takes both stages from ARG BASE_IMAGE, whose default is the public node:20-bookworm-slim', () => {
    const stages = parseDockerfile(DOCKERFILE_TEXT);
    expect(stages.map((s) => [s.fromRaw, s.from])).toEqual([
      ['${BASE_IMAGE}', 'node:20-bookworm-slim'],
      ['${BASE_IMAGE}', 'node:20-bookworm-slim'],
    ]);
    expect(
      checkDockerfile(
        DOCKERFILE_TEXT.replace(
          /^FROM \$\{BASE_IMAGE\} AS runtime$/m,
          'FROM node:20-bookworm-slim AS runtime',
        ),
      ),
    ).toEqual(['Dockerfile: stage runtime is FROM node:20-bookworm-slim, not ${BASE_IMAGE}']);
    expect(
      checkDockerfile(
        DOCKERFILE_TEXT.replace('ARG BASE_IMAGE=node:20-bookworm-slim', 'ARG BASE_IMAGE=node:18'),
      ),
    ).toEqual(['Dockerfile: stage build is FROM node:18', 'Dockerfile: stage runtime is FROM node:18']);
  });

  it('catches a root runtime, a single stage, a missing prune, a wrong port and a bad default APP', () => {
    expect(checkDockerfile(DOCKERFILE_TEXT.replace(/^USER node$/m, 'USER root'))).toEqual([
      'Dockerfile: runtime runs as root',
    ]);
    expect(checkDockerfile(DOCKERFILE_TEXT.replace(/^USER node$/m, ''))).toEqual([
      'Dockerfile: runtime runs as root (no USER)',
    ]);
    expect(checkDockerfile(DOCKERFILE_TEXT.replace(/^FROM \$\{BASE_IMAGE\} AS runtime$/m, ''))).toEqual([
      'Dockerfile: no runtime stage after the build stage',
    ]);
    expect(checkDockerfile(DOCKERFILE_TEXT.replace(/npm prune --omit=dev/, 'true'))).toEqual([
      'Dockerfile: build stage must run npm ci, then npm run build, then npm prune --omit=dev',
    ]);
    expect(checkDockerfile(DOCKERFILE_TEXT.replace('npm ci --ignore-scripts', 'npm ci'))).toEqual([
      expect.stringContaining('without --ignore-scripts'),
    ]);
    expect(checkDockerfile(DOCKERFILE_TEXT.replace('applier:8082', 'applier:8080'))).toEqual([
      "Dockerfile: HEALTHCHECK's default port for applier is not 8082 (apps/applier/src/main.ts)",
    ]);
    expect(checkDockerfile(DOCKERFILE_TEXT.replace(`CMD ["sh", "-c"`, `CMD ['sh', '-c'`))).toEqual([
      'Dockerfile: CMD exec form is not valid JSON',
    ]);
    expect(checkDockerfile(DOCKERFILE_TEXT.replace(`CMD ["node", "-e"`, `CMD ["node", "-e",`))).toEqual([
      'Dockerfile: HEALTHCHECK exec form is not valid JSON',
    ]);
    expect(checkDockerfile(DOCKERFILE_TEXT.replace('ARG APP=capture', 'ARG APP=capturer'))).toEqual([
      'Dockerfile: ARG APP default "capturer" is no app',
    ]);
    expect(
      checkDockerfile(DOCKERFILE_TEXT.replace('COPY --from=build /src/node_modules', 'COPY node_modules')),
    ).toEqual(['Dockerfile: runtime does not copy node_modules from the build stage']);
  });
});
