import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/**
 * A checkpoint kept as one JSON file, written atomically (temp file + rename, atomic on POSIX), so kill -9
 * never leaves a torn file: the checkpoint of a CLI run that must survive a kill (snapshot, verify, replay).
 */
export class JsonFile<T> {
  constructor(readonly path: string) {}

  /** The saved value, or null when there is none. */
  async load(): Promise<T | null> {
    try {
      return JSON.parse(await readFile(this.path, 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  async save(value: T): Promise<void> {
    await mkdir(dirname(this.path), { recursive: true });
    const tmp = `${this.path}.${process.pid}.tmp`;
    await writeFile(tmp, JSON.stringify(value));
    await rename(tmp, this.path);
  }

  async clear(): Promise<void> {
    await rm(this.path, { force: true });
  }
}
