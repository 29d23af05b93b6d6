import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

// For the stack's specs only: scratch dirs under the OS temp dir, removed after the importing file's tests.
const scratchDirs: string[] = [];
afterAll(() => scratchDirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

export function scratch(tag: string): string {
  const dir = mkdtempSync(join(tmpdir(), `stack-${tag}-`));
  scratchDirs.push(dir);
  return dir;
}
