import type { ContainerRuntimeClient, StartedTestContainer } from 'testcontainers';
import {
  freePort,
  hostNetworkEngines,
  type HostContainerSpec,
  LOCAL_ENGINE_IMAGES,
  PUBLIC_ENGINE_IMAGES,
} from '../../libs/stack/src';

export interface ContainerStack {
  readonly endpoints: { redisUrl: string; kafkaBrokers: string; dynamodbEndpoint: string };
  readonly images: 'local' | 'public';
  stop(): Promise<void>;
}

/** Every engine container the suites start carries this label (plus testcontainers' org.testcontainers=true). */
export const TEST_ENGINE_LABEL = 'org.cdc.test-engine';

/**
 * CDC_ENGINE_IMAGES=local: the images `npm run images` builds (no registry needed); =public: redis:7,
 * apache/kafka:3.9.1, amazon/dynamodb-local (pulled as needed). Unset: local when all three are in the daemon.
 */
async function chooseImages(client: ContainerRuntimeClient): Promise<'local' | 'public'> {
  const wanted = process.env.CDC_ENGINE_IMAGES;
  if (wanted === 'local' || wanted === 'public') return wanted;
  if (wanted) throw new Error(`CDC_ENGINE_IMAGES must be local or public, not "${wanted}"`);
  const { ImageName } = await import('testcontainers');
  const present = await Promise.all(
    Object.values(LOCAL_ENGINE_IMAGES).map((image) => client.image.exists(ImageName.fromString(image))),
  );
  return present.every(Boolean) ? 'local' : 'public';
}

/**
 * testcontainers' own errors name no fix for the two settings a machine without a bridge network or a registry
 * needs (both seen here): without TESTCONTAINERS_HOST_OVERRIDE it looks for the bridge's gateway (there is a
 * /.dockerenv) and reports no runtime at all; without TESTCONTAINERS_RYUK_DISABLED it pulls Ryuk's image first.
 */
function explain(err: unknown): Error {
  const message = err instanceof Error ? err.message : String(err);
  const hints: string[] = [];
  if (/working container runtime strategy/.test(message) && !process.env.TESTCONTAINERS_HOST_OVERRIDE)
    hints.push(
      'no Docker daemon answers, or it has no bridge network: then set TESTCONTAINERS_HOST_OVERRIDE=localhost',
    );
  if (/registry|pull|manifest|No such image/i.test(message)) {
    if (process.env.TESTCONTAINERS_RYUK_DISABLED !== 'true')
      hints.push("Ryuk's image cannot be pulled: set TESTCONTAINERS_RYUK_DISABLED=true");
    hints.push('an image cannot be pulled: build the local ones with `npm run images` (docs/containers.md)');
  }
  return new Error(hints.length ? `${message}\n  ${hints.join('\n  ')}` : message, { cause: err });
}

async function startOne(spec: HostContainerSpec, runId: string): Promise<StartedTestContainer> {
  const { GenericContainer, Wait } = await import('testcontainers');
  const wait =
    'log' in spec.ready
      ? Wait.forLogMessage(spec.ready.log)
      : Wait.forSuccessfulCommand(`bash -c 'exec 3<>/dev/tcp/127.0.0.1/${spec.ready.tcpPort}'`);
  let container = new GenericContainer(spec.image)
    .withName(`cdc-test-${spec.name}-${runId}`)
    .withNetworkMode('host')
    .withLabels({ [TEST_ENGINE_LABEL]: spec.name })
    .withEnvironment(spec.environment)
    .withWaitStrategy(wait.withStartupTimeout(180_000));
  if (spec.command.length > 0) container = container.withCommand(spec.command);
  return container.start();
}

/**
 * Redis, Kafka and DynamoDB Local as containers on the host's network, with fixed free ports in their commands:
 * no bridge network and no published ports, which the machines this runs on do not have (docs/containers.md).
 * Throws fast, with the fix, when no container runtime answers.
 */
export async function startContainers(log: (line: string) => void): Promise<ContainerStack> {
  const { getContainerRuntimeClient } = await import('testcontainers');
  const client = await getContainerRuntimeClient().catch((err: unknown) => {
    throw explain(err);
  });
  const images = await chooseImages(client);
  const ports = {
    redis: await freePort(),
    kafka: await freePort(),
    kafkaController: await freePort(),
    dynamodb: await freePort({ allInterfaces: true }), // DynamoDB Local binds every interface
  };
  const specs = hostNetworkEngines(images === 'local' ? LOCAL_ENGINE_IMAGES : PUBLIC_ENGINE_IMAGES, ports, {
    fastStart: true,
  });
  log(`containers (${images} images): ${specs.map((s) => `${s.name} ${s.image}`).join(', ')}`);
  const runId = `${process.pid}-${Date.now().toString(36)}`;
  const results = await Promise.allSettled(specs.map((spec) => startOne(spec, runId)));
  const started = results.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed) {
    await Promise.allSettled(started.map((c) => c.stop()));
    throw explain(failed.reason);
  }
  const endpoint = (name: HostContainerSpec['name']): string =>
    (specs.find((s) => s.name === name) as HostContainerSpec).endpoint;
  return {
    endpoints: {
      redisUrl: endpoint('redis'),
      kafkaBrokers: endpoint('kafka'),
      dynamodbEndpoint: endpoint('dynamodb'),
    },
    images,
    stop: async () => {
      await Promise.all(started.map((c) => c.stop({ remove: true, removeVolumes: true })));
    },
  };
}
