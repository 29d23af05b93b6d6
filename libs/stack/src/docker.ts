import { KAFKA_SINGLE_NODE_ENV } from './engine-containers';
import { EPHEMERAL_REDIS_ARGS } from './engines/redis';
import { dockerUnavailable } from './errors';
import { resolveExecutable, runToExit } from './process';
import type { CoreEngineName, EngineName } from './types';

export interface ContainerSpec {
  name: EngineName;
  port: number; // host port, published on 127.0.0.1 only
  endpoint: string;
  args: string[]; // arguments of `docker run`
}

/** `docker --version` proves nothing: only a daemon answering `docker info` does. */
export async function ensureDocker(env: NodeJS.ProcessEnv): Promise<string> {
  const docker = resolveExecutable('docker', env);
  if (!docker) throw dockerUnavailable('the docker CLI is not on PATH');
  const res = await runToExit(docker, ['info', '--format', '{{.ServerVersion}}'], {
    env,
    timeoutMs: 5_000,
  }).catch((e: Error) => ({ code: -1, output: e.message, timedOut: false }));
  if (res.code !== 0) {
    const why = res.timedOut
      ? 'docker info timed out'
      : res.output.trim().split('\n').pop() || `exit ${res.code}`;
    throw dockerUnavailable(why);
  }
  return docker;
}

/** docker run arguments for the three engines; container names carry the stack id so stacks don't collide. */
export function containerSpecs(id: string, ports: Record<CoreEngineName, number>): ContainerSpec[] {
  const base = (name: CoreEngineName, containerPort: number): string[] => [
    'run',
    '-d',
    '--rm',
    '--name',
    `cdc-${name}-${id}`,
    '-p',
    `127.0.0.1:${ports[name]}:${containerPort}`,
  ];
  const k = ports.kafka;
  const kafkaEnv: Record<string, string> = {
    ...KAFKA_SINGLE_NODE_ENV,
    // The broker listens on all container interfaces (port publishing needs that) but advertises the host port.
    KAFKA_LISTENERS: 'PLAINTEXT://0.0.0.0:9092,CONTROLLER://127.0.0.1:9093',
    KAFKA_ADVERTISED_LISTENERS: `PLAINTEXT://127.0.0.1:${k}`,
    KAFKA_CONTROLLER_QUORUM_VOTERS: '1@127.0.0.1:9093',
  };
  return [
    {
      name: 'redis',
      port: ports.redis,
      endpoint: `redis://127.0.0.1:${ports.redis}`,
      args: [...base('redis', 6379), 'redis:7', 'redis-server', ...EPHEMERAL_REDIS_ARGS],
    },
    {
      name: 'kafka',
      port: k,
      endpoint: `127.0.0.1:${k}`,
      args: [
        ...base('kafka', 9092),
        ...Object.entries(kafkaEnv).flatMap(([key, v]) => ['-e', `${key}=${v}`]),
        'apache/kafka:3.9.1',
      ],
    },
    {
      name: 'dynamodb',
      port: ports.dynamodb,
      endpoint: `http://127.0.0.1:${ports.dynamodb}`,
      args: [
        ...base('dynamodb', 8000),
        'amazon/dynamodb-local',
        '-jar',
        'DynamoDBLocal.jar',
        '-inMemory',
        '-sharedDb',
        '-disableTelemetry',
      ],
    },
  ];
}

/** Starts a container (pulling its image first if needed) and returns its id. */
export async function runContainer(
  docker: string,
  spec: ContainerSpec,
  env: NodeJS.ProcessEnv,
): Promise<string> {
  const res = await runToExit(docker, spec.args, { env, timeoutMs: 10 * 60_000 });
  const id = res.output.trim().split('\n').pop() ?? '';
  if (res.code !== 0 || !/^[0-9a-f]{12,64}$/.test(id)) {
    throw new Error(
      `docker run for ${spec.name} failed (exit ${res.code}): ${res.output.trim().slice(-2000)}`,
    );
  }
  return id;
}

export async function containerRunning(docker: string, id: string, env: NodeJS.ProcessEnv): Promise<boolean> {
  const res = await runToExit(docker, ['inspect', '-f', '{{.State.Running}}', id], {
    env,
    timeoutMs: 10_000,
  }).catch(() => undefined);
  return res?.code === 0 && res.output.trim() === 'true';
}

export async function containerLogs(docker: string, id: string, env: NodeJS.ProcessEnv): Promise<string> {
  const res = await runToExit(docker, ['logs', '--tail', '40', id], { env, timeoutMs: 10_000 }).catch(
    () => undefined,
  );
  return res?.output.trim() ?? '';
}

export async function removeContainers(docker: string, ids: string[], env: NodeJS.ProcessEnv): Promise<void> {
  if (ids.length === 0) return;
  await runToExit(docker, ['rm', '-f', ...ids], { env, timeoutMs: 60_000 }).catch(() => undefined);
}
