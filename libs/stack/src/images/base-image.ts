import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { StackError } from '../errors';
import { resolveExecutable, runToExit, tailFile } from '../process';
import { debianMirror, readAptSources } from './apt-sources';
import { INPUTS_LABEL, LOCAL_IMAGES, MANAGED_LABEL } from './catalog';
import { freshDir, hashTree, hashValue, linkTree } from './context';
import { imageBuildFailed, inspectImage } from './docker-images';

export const DEBIAN_SUITE = 'bookworm';

const toolMissing = (detail: string): StackError =>
  new StackError(
    'IMAGE_TOOL_MISSING',
    `${detail}. The local base image is made with debootstrap from the machine's apt mirror (no registry ` +
      'needed); with a registry, use the public images instead (plain docker compose).',
  );

/** What the base image is made of, besides the mirror: the host's extra CAs and the files under images/base. */
export interface BaseInputs {
  mirror: string;
  /** Host files copied into the image so it trusts what the host trusts (a TLS-intercepting proxy's CA). */
  caFiles: string[];
  overlayDir: string;
}

export function baseInputs(root: string, env: NodeJS.ProcessEnv): BaseInputs {
  const mirror = env.CDC_DEBIAN_MIRROR || debianMirror(readAptSources(), DEBIAN_SUITE);
  if (!mirror) {
    throw toolMissing(
      `no apt source for Debian ${DEBIAN_SUITE} main in /etc/apt/sources.list*; set CDC_DEBIAN_MIRROR to a Debian archive URL`,
    );
  }
  const extraCas = '/usr/local/share/ca-certificates';
  const caFiles = existsSync(extraCas)
    ? readdirSync(extraCas)
        .filter((f) => f.endsWith('.crt'))
        .sort()
        .map((f) => join(extraCas, f))
    : [];
  if (caFiles.length > 0 && existsSync('/etc/ssl/certs/ca-certificates.crt'))
    caFiles.push('/etc/ssl/certs/ca-certificates.crt');
  return { mirror, caFiles, overlayDir: join(root, 'images', 'base') };
}

export function baseInputsHash(inputs: BaseInputs): string {
  return hashValue({
    recipe: 1, // bump when the steps below change
    suite: DEBIAN_SUITE,
    variant: 'minbase',
    mirror: inputs.mirror,
    overlay: hashTree(inputs.overlayDir),
    cas: inputs.caFiles.map((f) => [f, createHash('sha256').update(readFileSync(f)).digest('hex')]),
  });
}

/** Documentation, manuals, translations and apt's caches: nothing a container reads. */
function slim(rootfs: string): void {
  const emptyDir = (rel: string, keep: (name: string) => boolean = () => false) => {
    const dir = join(rootfs, rel);
    if (!existsSync(dir)) return;
    for (const name of readdirSync(dir)) {
      if (!keep(name)) rmSync(join(dir, name), { recursive: true, force: true });
    }
  };
  emptyDir('var/cache/apt/archives', (n) => n === 'partial' || n === 'lock');
  emptyDir('var/lib/apt/lists', (n) => n === 'partial' || n === 'lock');
  emptyDir('var/log');
  emptyDir('usr/share/man');
  // Kept as a directory: the JRE's postinst links its manual page there and fails when the directory is gone.
  mkdirSync(join(rootfs, 'usr/share/man/man1'), { recursive: true });
  emptyDir('usr/share/info');
  emptyDir('usr/share/locale', (n) => n === 'locale.alias');
  for (const pkg of existsSync(join(rootfs, 'usr/share/doc'))
    ? readdirSync(join(rootfs, 'usr/share/doc'))
    : []) {
    emptyDir(join('usr/share/doc', pkg), (n) => n === 'copyright');
  }
}

interface BaseContext {
  docker: string;
  root: string;
  workDir: string;
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
}

/**
 * cdc-local/debian:bookworm: `debootstrap --variant=minbase bookworm <dir> <mirror>`, slimmed, then
 * `docker import`. Reused while its inputs (mirror, overlay files, the host's CAs) are unchanged.
 */
export async function ensureBaseImage(ctx: BaseContext): Promise<{ built: boolean }> {
  const tag = LOCAL_IMAGES.base;
  const inputs = baseInputs(ctx.root, ctx.env);
  const key = baseInputsHash(inputs);

  const existing = await inspectImage(ctx.docker, tag, ctx.env);
  if (existing?.labels[INPUTS_LABEL] === key) return { built: false };

  if (process.getuid?.() !== 0) throw toolMissing('debootstrap needs root (it chroots into the new tree)');
  const debootstrap = resolveExecutable('debootstrap', ctx.env);
  if (!debootstrap) throw toolMissing('debootstrap was not found on PATH (apt-get install -y debootstrap)');
  const tar = resolveExecutable('tar', ctx.env);
  if (!tar) throw toolMissing('tar was not found on PATH');

  const rootfs = freshDir(join(ctx.workDir, 'base-rootfs'));
  const tarball = join(ctx.workDir, 'base-rootfs.tar');
  const logFile = join(ctx.workDir, 'base.log');
  rmSync(logFile, { force: true });
  try {
    ctx.log(`base: debootstrap --variant=minbase ${DEBIAN_SUITE} from ${inputs.mirror} …`);
    const boot = await runToExit(debootstrap, ['--variant=minbase', DEBIAN_SUITE, rootfs, inputs.mirror], {
      env: ctx.env,
      timeoutMs: 20 * 60_000,
      logFile,
    });
    if (boot.code !== 0) {
      throw imageBuildFailed('debootstrap', `exit ${boot.code ?? boot.signal}:\n${tailFile(logFile, 30)}`);
    }
    slim(rootfs);
    linkTree(inputs.overlayDir, rootfs);
    // update-ca-certificates (run when a later image installs ca-certificates) keeps the extra CAs only if
    // they are in /usr/local/share/ca-certificates; the bundle serves tools that read it directly (npm).
    for (const f of inputs.caFiles) {
      mkdirSync(dirname(join(rootfs, f)), { recursive: true });
      copyFileSync(f, join(rootfs, f));
    }

    const packed = await runToExit(tar, ['-C', rootfs, '-cf', tarball, '.'], {
      env: ctx.env,
      timeoutMs: 10 * 60_000,
      logFile,
    });
    if (packed.code !== 0) throw imageBuildFailed('tar of the base tree', tailFile(logFile, 20));
    const imported = await runToExit(
      ctx.docker,
      [
        'import',
        '--change',
        'CMD ["bash"]',
        '--change',
        `LABEL ${INPUTS_LABEL}=${key} ${MANAGED_LABEL}=true`,
        tarball,
        tag,
      ],
      { env: ctx.env, timeoutMs: 10 * 60_000, logFile },
    );
    if (imported.code !== 0) throw imageBuildFailed(`docker import of ${tag}`, tailFile(logFile, 20));
    return { built: true };
  } finally {
    rmSync(rootfs, { recursive: true, force: true });
    rmSync(tarball, { force: true });
  }
}
