import { randomBytes } from 'node:crypto';
import { ABORTED, allOrFirstError, DEFAULT_READY_TIMEOUT_MS, readinessError, statusOf } from './bringup';
import { containerLogs, containerRunning, containerSpecs, removeContainers, runContainer } from './docker';
import { freePorts } from './ports';
import { resolveExecutable } from './process';
import { probeEngine, waitReady } from './probes';
import { endpointsOf, removeState, writeState, type EngineRecord, type StackState } from './state';
import type { EngineStatus, StackEndpoints, StackOptions } from './types';

/** Same engines as containers, for machines with a Docker engine; published on 127.0.0.1 only. */
export async function upDocker(
  stateDir: string,
  opts: StackOptions,
  docker: string,
): Promise<{ endpoints: StackEndpoints; engines: EngineStatus[] }> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const id = randomBytes(4).toString('hex');
  const [redis, kafka, dynamodb] = (await freePorts(3)) as [number, number, number];
  const state: StackState = {
    version: 1,
    id,
    mode: 'docker',
    createdAt: new Date().toISOString(),
    engines: {},
  };
  const timeouts = { ...DEFAULT_READY_TIMEOUT_MS, ...opts.readyTimeoutMs };
  try {
    const engines = await allOrFirstError(
      containerSpecs(id, { redis, kafka, dynamodb }).map((spec) => async (abort) => {
        log(`${spec.name}: docker ${spec.args.slice(0, 6).join(' ')} … (pulls the image the first time)`);
        const containerId = await runContainer(docker, spec, env);
        const since = Date.now(); // readiness counts from container start, not from the image pull
        const rec: EngineRecord = {
          containerId,
          port: spec.port,
          endpoint: spec.endpoint,
          startedAt: new Date().toISOString(),
        };
        state.engines[spec.name] = rec;
        writeState(stateDir, state);
        const r = await waitReady(() => probeEngine(spec.name, spec.endpoint, true), {
          timeoutMs: timeouts[spec.name],
          since,
          gone: async () => {
            if (abort.reason) return ABORTED;
            return (await containerRunning(docker, containerId, env)) ? undefined : 'the container stopped';
          },
        });
        if (!r.ok) {
          if (r.failure.kind === 'exited' && r.failure.detail === ABORTED) throw new Error(ABORTED);
          const tail = await containerLogs(docker, containerId, env);
          throw readinessError(spec.name, r.failure, timeouts[spec.name], tail);
        }
        rec.readyMs = r.readyMs;
        writeState(stateDir, state);
        log(
          `${spec.name} ready in ${r.readyMs} ms (container ${containerId.slice(0, 12)}, ${spec.endpoint})`,
        );
        return statusOf(spec.name, rec, true, true);
      }),
    );
    return { endpoints: endpointsOf(state) as StackEndpoints, engines };
  } catch (e) {
    const ids = Object.values(state.engines).flatMap((r) => (r?.containerId ? [r.containerId] : []));
    await removeContainers(docker, ids, env);
    removeState(stateDir);
    throw e;
  }
}

const dockerBin = (): string | undefined => resolveExecutable('docker', process.env);

export async function dockerRunning(containerId: string): Promise<boolean> {
  const docker = dockerBin();
  return docker !== undefined && containerRunning(docker, containerId, process.env);
}

export async function dockerStop(containerId: string): Promise<void> {
  const docker = dockerBin();
  if (docker) await removeContainers(docker, [containerId], process.env);
}
