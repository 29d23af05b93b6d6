import { rmSync } from 'node:fs';
import { StackError } from '../errors';
import { runToExit, tailFile } from '../process';
import { INPUTS_LABEL, MANAGED_LABEL } from './catalog';

export interface ImageInfo {
  id: string;
  sizeBytes: number;
  labels: Record<string, string>;
}

export const imageBuildFailed = (what: string, detail: string): StackError =>
  new StackError('IMAGE_BUILD_FAILED', `${what} failed: ${detail}`);

/** The legacy builder: it needs no buildx plugin and no registry (BuildKit would fetch its frontend image). */
export const buildEnv = (env: NodeJS.ProcessEnv): NodeJS.ProcessEnv => ({ ...env, DOCKER_BUILDKIT: '0' });

export async function inspectImage(
  docker: string,
  tag: string,
  env: NodeJS.ProcessEnv,
): Promise<ImageInfo | undefined> {
  const res = await runToExit(docker, ['image', 'inspect', tag], { env, timeoutMs: 30_000 });
  if (res.code !== 0) return undefined;
  const [image] = JSON.parse(res.output) as Array<{
    Id: string;
    Size: number;
    Config?: { Labels?: Record<string, string> | null };
  }>;
  if (!image) return undefined;
  return { id: image.Id, sizeBytes: image.Size, labels: image.Config?.Labels ?? {} };
}

export interface BuildSpec {
  /** What is built, for messages ("image cdc-local/redis:7"). */
  tag: string;
  context: string;
  dockerfile?: string;
  /** Build only up to this stage of a multi-stage Dockerfile. */
  target?: string;
  buildArgs: Record<string, string>;
  /** The inputs' hash, kept as a label so the next run can reuse the image. */
  inputs?: string;
  logFile: string;
}

/**
 * `docker build --network host`: RUN steps reach the apt mirror and the npm registry through the host's
 * network (the daemon here has no bridge). Output goes to logFile; a failure quotes its tail.
 */
export async function dockerBuild(docker: string, spec: BuildSpec, env: NodeJS.ProcessEnv): Promise<void> {
  const args = ['build', '--network', 'host', '--force-rm', '-t', spec.tag];
  if (spec.dockerfile) args.push('-f', spec.dockerfile);
  if (spec.target) args.push('--target', spec.target);
  for (const [k, v] of Object.entries(spec.buildArgs)) args.push('--build-arg', `${k}=${v}`);
  args.push('--label', `${MANAGED_LABEL}=true`);
  if (spec.inputs) args.push('--label', `${INPUTS_LABEL}=${spec.inputs}`);
  args.push(spec.context);
  rmSync(spec.logFile, { force: true }); // a failure quotes this build's output only
  const res = await runToExit(docker, args, {
    env: buildEnv(env),
    timeoutMs: 30 * 60_000,
    logFile: spec.logFile,
  });
  if (res.code !== 0) {
    const why = res.timedOut ? 'timed out after 30 min' : `exit ${res.code ?? res.signal}`;
    throw imageBuildFailed(
      `docker build of ${spec.tag}`,
      `${why}. Last lines of ${spec.logFile}:\n${tailFile(spec.logFile, 30)}`,
    );
  }
}

/** Removes untagged images this tool built (a tag moved to a newer build); the layer cache stays. */
export async function pruneDangling(docker: string, env: NodeJS.ProcessEnv): Promise<void> {
  await runToExit(docker, ['image', 'prune', '-f', '--filter', `label=${MANAGED_LABEL}=true`], {
    env,
    timeoutMs: 120_000,
  });
}
