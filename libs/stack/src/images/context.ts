import { createHash } from 'node:crypto';
import {
  copyFileSync,
  linkSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  rmSync,
  symlinkSync,
} from 'node:fs';
import { dirname, join, relative } from 'node:path';

/**
 * Copies a tree (files hard-linked when the file system allows, so staging the 100 MB of jars and the Node
 * binary costs nothing), replacing whatever `dest` held.
 */
export function linkTree(src: string, dest: string): void {
  const st = lstatSync(src);
  if (st.isDirectory()) {
    mkdirSync(dest, { recursive: true });
    for (const name of readdirSync(src)) linkTree(join(src, name), join(dest, name));
    return;
  }
  mkdirSync(dirname(dest), { recursive: true });
  rmSync(dest, { force: true });
  if (st.isSymbolicLink()) {
    symlinkSync(readlinkSync(src), dest);
    return;
  }
  try {
    linkSync(src, dest);
  } catch {
    copyFileSync(src, dest);
  }
}

/** A fresh, empty directory. */
export function freshDir(dir: string): string {
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  return dir;
}

/**
 * The content of a build context as one hash: every path (sorted), whether it is executable, and its bytes
 * (symlinks by target). Two contexts with the same hash build the same image from the same parent.
 */
export function hashTree(root: string): string {
  const hash = createHash('sha256');
  const walk = (dir: string): void => {
    for (const name of readdirSync(dir).sort()) {
      const path = join(dir, name);
      const st = lstatSync(path);
      const rel = relative(root, path);
      if (st.isDirectory()) {
        hash.update(`d ${rel}\n`);
        walk(path);
      } else if (st.isSymbolicLink()) {
        hash.update(`l ${rel} ${readlinkSync(path)}\n`);
      } else {
        hash.update(`f ${rel} ${st.mode & 0o111 ? 'x' : '-'} ${st.size}\n`);
        hash.update(readFileSync(path));
      }
    }
  };
  walk(root);
  return hash.digest('hex');
}

/** sha256 of a JSON value with sorted keys: the inputs of an image that are not files. */
export function hashValue(value: unknown): string {
  const canonical = (v: unknown): unknown =>
    v && typeof v === 'object' && !Array.isArray(v)
      ? Object.fromEntries(
          Object.entries(v as Record<string, unknown>)
            .sort(([a], [b]) => a.localeCompare(b))
            .map(([k, x]) => [k, canonical(x)]),
        )
      : Array.isArray(v)
        ? v.map(canonical)
        : v;
  return createHash('sha256')
    .update(JSON.stringify(canonical(value)))
    .digest('hex');
}
