import { describe, expect, it } from 'vitest';
import { type CdcConfig, loadConfig } from '@cdc/config';
import { missingClasses } from '@cdc/redis';
import { appImage, LOCAL_IMAGES } from '@cdc/stack';
import {
  APP_ENGINES,
  APPS,
  type AppName,
  appSpec,
  commandArgs,
  type Compose,
  ENDPOINT_VARIABLES,
  type Engine,
  engineOf,
  ENGINES,
  envOf,
  flagValue,
  kafkaListeners,
  listenPorts,
  loadComposeFiles,
  publishedPorts,
  type Service,
} from './compose-model';

/**
 * docker-compose.host.yml over docker-compose.yml: the whole stack on host networking, for a Docker engine with
 * no bridge network and no registry (docs/containers.md). test/containers/compose.compose-spec.ts starts it for
 * real; these checks say why a broken copy would not start, or would start and not talk, without a Docker engine.
 */

const HOST_FILES = ['docker-compose.yml', 'docker-compose.host.yml'];
const VARIABLES = [
  'CDC_HOST_REDIS_PORT',
  'CDC_HOST_KAFKA_PORT',
  'CDC_HOST_KAFKA_CONTROLLER_PORT',
  'CDC_HOST_DYNAMODB_PORT',
  'CDC_HOST_CAPTURE_PORT',
  'CDC_HOST_APPLIER_PORT',
  'CDC_HOST_VERIFIER_PORT',
] as const;
const LOOPBACK = '127.0.0.1';

const svcOf = (c: Compose, name: string): Service => c.services[name] ?? {};
const healthcheckText = (s: Service): string => JSON.stringify(s.healthcheck?.test ?? '');

/** Host networking everywhere, nothing published, no network of compose's own (it would be a bridge). */
function checkHostNetworking(c: Compose): string[] {
  const problems: string[] = [];
  if ('networks' in (c as unknown as Record<string, unknown>)) problems.push('top level: declares networks');
  for (const [name, s] of Object.entries(c.services)) {
    if (s.network_mode !== 'host')
      problems.push(`${name}: network_mode is ${s.network_mode ?? 'unset'}, not host`);
    if (publishedPorts(s).length > 0) problems.push(`${name}: publishes ports (host networking has none)`);
    if (s.networks !== undefined) problems.push(`${name}: joins networks`);
  }
  return problems;
}

/** The port an engine service listens on, from its own command/environment (one per engine here). */
function enginePort(c: Compose, engine: Engine): number | undefined {
  return listenPorts(svcOf(c, engine))[0];
}

function checkHostEngines(c: Compose): string[] {
  const problems: string[] = [];
  const expectedImage: Record<Engine, string> = {
    redis: LOCAL_IMAGES.redis,
    kafka: LOCAL_IMAGES.kafka,
    dynamodb: LOCAL_IMAGES.dynamodb,
  };
  for (const engine of ENGINES) {
    const s = svcOf(c, engine);
    if (s.image !== expectedImage[engine])
      problems.push(`${engine}: image is ${s.image}, not ${expectedImage[engine]} (npm run images)`);
    if (engineOf(s) !== engine) problems.push(`${engine}: image ${s.image} is not ${engine}`);
  }

  const redisArgs = commandArgs(svcOf(c, 'redis'));
  const redisPort = flagValue(redisArgs, '--port');
  if (!redisPort) problems.push('redis: no --port (6379 is taken on the host)');
  if (flagValue(redisArgs, '--bind') !== LOOPBACK) problems.push('redis: not bound to 127.0.0.1 only');
  const events = flagValue(redisArgs, '--notify-keyspace-events') ?? '';
  if (!events || missingClasses(events))
    problems.push(`redis: --notify-keyspace-events "${events}" is not enough`);
  if (!healthcheckText(svcOf(c, 'redis')).includes(`"-p","${redisPort}"`))
    problems.push(`redis: healthcheck does not ping port ${redisPort}`);

  const kafkaEnv = envOf(svcOf(c, 'kafka'));
  const listeners = kafkaListeners(kafkaEnv.KAFKA_LISTENERS);
  const advertised = kafkaListeners(kafkaEnv.KAFKA_ADVERTISED_LISTENERS);
  const controller = listeners.find((l) => l.name === kafkaEnv.KAFKA_CONTROLLER_LISTENER_NAMES);
  const mapped = new Set(
    (kafkaEnv.KAFKA_LISTENER_SECURITY_PROTOCOL_MAP ?? '').split(',').map((p) => p.split(':')[0]),
  );
  for (const l of listeners) {
    if (l.host !== LOOPBACK) problems.push(`kafka: listener ${l.name} binds ${l.host || 'every interface'}`);
  }
  for (const name of mapped) {
    if (!listeners.some((l) => l.name === name))
      problems.push(`kafka: protocol map names ${name}, no listener does`);
  }
  for (const adv of advertised) {
    const bound = listeners.find((l) => l.name === adv.name);
    if (!bound || bound.host !== adv.host || bound.port !== adv.port)
      problems.push(
        `kafka: advertises ${adv.name} as ${adv.host}:${adv.port}, but listens on ${bound ? `${bound.host}:${bound.port}` : 'nothing of that name'}`,
      );
  }
  if (!controller) problems.push('kafka: no CONTROLLER listener');
  else if (kafkaEnv.KAFKA_CONTROLLER_QUORUM_VOTERS !== `1@${controller.host}:${controller.port}`)
    problems.push(
      `kafka: quorum voters ${kafkaEnv.KAFKA_CONTROLLER_QUORUM_VOTERS} are not its controller listener`,
    );
  const brokerPort = enginePort(c, 'kafka');
  if (!healthcheckText(svcOf(c, 'kafka')).includes(`--bootstrap-server ${LOOPBACK}:${brokerPort}`))
    problems.push(`kafka: healthcheck does not ask ${LOOPBACK}:${brokerPort}`);

  const dynamoPort = flagValue(commandArgs(svcOf(c, 'dynamodb')), '-port');
  if (!dynamoPort) problems.push('dynamodb: no -port (8000 may be taken on the host)');
  if (!healthcheckText(svcOf(c, 'dynamodb')).includes(`/dev/tcp/${LOOPBACK}/${dynamoPort}`))
    problems.push(`dynamodb: healthcheck does not connect to port ${dynamoPort}`);
  return problems;
}

/** Each app: loads its config, reaches each engine at 127.0.0.1 on the port that engine listens on. */
function checkHostApp(c: Compose, app: AppName): string[] {
  const s = svcOf(c, app);
  const env = envOf(s);
  const problems: string[] = [];
  let config: CdcConfig;
  try {
    config = loadConfig(env as NodeJS.ProcessEnv);
    config.require(...appSpec(app).needs);
  } catch (err) {
    return [`${app}: loadConfig rejects the environment: ${(err as Error).message}`];
  }
  for (const engine of APP_ENGINES[app]) {
    const raw = env[ENDPOINT_VARIABLES[engine]] ?? '';
    const [host, port] = engine === 'kafka' ? raw.split(':') : [new URL(raw).hostname, new URL(raw).port];
    if (host !== LOOPBACK)
      problems.push(`${app}: ${ENDPOINT_VARIABLES[engine]} host is ${host}, not ${LOOPBACK}`);
    if (Number(port) !== enginePort(c, engine))
      problems.push(
        `${app}: ${ENDPOINT_VARIABLES[engine]} port ${port}, but ${engine} listens on ${enginePort(c, engine)}`,
      );
  }
  if (config.httpPort === appSpec(app).defaultPort)
    problems.push(
      `${app}: HTTP_PORT is the default ${config.httpPort}, which a normal compose stack publishes`,
    );
  const build = typeof s.build === 'object' ? s.build : {};
  const args = (build.args ?? {}) as Record<string, unknown>;
  if (args.BASE_IMAGE !== LOCAL_IMAGES.node)
    problems.push(`${app}: build arg BASE_IMAGE is not ${LOCAL_IMAGES.node}`);
  if (build.network !== 'host')
    problems.push(`${app}: builds without network host (npm ci needs the registry)`);
  if (s.image !== appImage(app))
    problems.push(`${app}: image ${s.image} is not ${appImage(app)} (npm run images)`);
  return problems;
}

/** Every port of the stack, engines, the controller and the apps, distinct. */
function hostPorts(c: Compose): number[] {
  const controller = kafkaListeners(envOf(svcOf(c, 'kafka')).KAFKA_LISTENERS).find(
    (l) => l.name === 'CONTROLLER',
  );
  return [
    ...ENGINES.map((e) => enginePort(c, e) ?? NaN),
    controller?.port ?? NaN,
    ...APPS.map((a) => Number(envOf(svcOf(c, a)).HTTP_PORT)),
  ];
}

const host = loadComposeFiles(HOST_FILES);
const broken = (mutate: (c: Compose) => void): Compose => {
  const copy = structuredClone(host);
  mutate(copy);
  return copy;
};
const envMap = (c: Compose, name: string) => svcOf(c, name).environment as Record<string, unknown>;

describe('docker-compose.host.yml over docker-compose.yml', () => {
  it('docker-compose.yml alone publishes nothing (an override could not remove a port; compose 1.x refuses ports with host networking)', () => {
    const base = loadComposeFiles(['docker-compose.yml']);
    expect(Object.entries(base.services).filter(([, s]) => publishedPorts(s).length > 0)).toEqual([]);
    expect(Object.keys(base as unknown as Record<string, unknown>)).not.toContain('name'); // compose 1.29 rejects it
  });

  it('puts every service on the host network and publishes nothing', () => {
    expect(Object.keys(host.services).sort()).toEqual([...APPS, ...ENGINES].sort());
    expect(checkHostNetworking(host)).toEqual([]);
    const withPort = broken((c) => (svcOf(c, 'redis').ports = ['127.0.0.1:6379:6379']));
    expect(checkHostNetworking(withPort)).toEqual(['redis: publishes ports (host networking has none)']);
    const bridged = broken((c) => delete svcOf(c, 'applier').network_mode);
    expect(checkHostNetworking(bridged)).toEqual(['applier: network_mode is unset, not host']);
  });

  it('runs the local engine images, each on 127.0.0.1 at its own port', () => {
    expect(checkHostEngines(host)).toEqual([]);
    const allInterfaces = broken((c) => {
      envMap(c, 'kafka').KAFKA_LISTENERS = 'PLAINTEXT://:19092,CONTROLLER://127.0.0.1:19093';
    });
    expect(checkHostEngines(allInterfaces)).toEqual([
      'kafka: listener PLAINTEXT binds every interface',
      'kafka: advertises PLAINTEXT as 127.0.0.1:19092, but listens on :19092',
    ]);
    const external = broken((c) => {
      envMap(c, 'kafka').KAFKA_LISTENER_SECURITY_PROTOCOL_MAP =
        'PLAINTEXT:PLAINTEXT,EXTERNAL:PLAINTEXT,CONTROLLER:PLAINTEXT';
    });
    expect(checkHostEngines(external)).toEqual(['kafka: protocol map names EXTERNAL, no listener does']);
    const publicRedis = broken((c) => (svcOf(c, 'redis').image = 'redis:7'));
    expect(checkHostEngines(publicRedis)).toEqual([
      `redis: image is redis:7, not ${LOCAL_IMAGES.redis} (npm run images)`,
    ]);
    const unbound = broken((c) => {
      svcOf(c, 'redis').command = ['redis-server', '--port', '16379', '--notify-keyspace-events', 'KEA'];
    });
    expect(checkHostEngines(unbound)).toEqual(['redis: not bound to 127.0.0.1 only']);
  });

  describe.each(APPS)('app %s', (app) => {
    it('loads its config and reaches each engine at 127.0.0.1 on the port it listens on', () => {
      expect(checkHostApp(host, app)).toEqual([]);
    });
  });

  it('catches an app pointed at a compose service name or at another port', () => {
    const byName = broken((c) => (envMap(c, 'capture').REDIS_URL = 'redis://redis:16379'));
    expect(checkHostApp(byName, 'capture')).toEqual(['capture: REDIS_URL host is redis, not 127.0.0.1']);
    const wrongPort = broken((c) => (envMap(c, 'applier').DYNAMODB_ENDPOINT = 'http://127.0.0.1:8000'));
    expect(checkHostApp(wrongPort, 'applier')).toEqual([
      'applier: DYNAMODB_ENDPOINT port 8000, but dynamodb listens on 18000',
    ]);
    const publicBase = broken((c) => {
      (svcOf(c, 'verifier').build as { args: Record<string, string> }).args.BASE_IMAGE =
        'node:20-bookworm-slim';
    });
    expect(checkHostApp(publicBase, 'verifier')).toEqual([
      `verifier: build arg BASE_IMAGE is not ${LOCAL_IMAGES.node}`,
    ]);
  });

  it('uses distinct ports, and every one follows its CDC_HOST_* variable', () => {
    const defaults = hostPorts(host);
    expect(new Set(defaults).size).toBe(defaults.length);
    expect(defaults.every((p) => Number.isInteger(p) && p > 1024)).toBe(true);
    const chosen = Object.fromEntries(VARIABLES.map((v, i) => [v, String(41001 + i)]));
    const moved = loadComposeFiles(HOST_FILES, chosen);
    expect(hostPorts(moved).sort()).toEqual(Object.values(chosen).map(Number).sort());
    expect(checkHostEngines(moved)).toEqual([]);
    for (const app of APPS) expect(checkHostApp(moved, app)).toEqual([]);
  });
});
