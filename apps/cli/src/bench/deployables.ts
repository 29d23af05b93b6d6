import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/** dist/apps/<app>/main.js next to the running CLI bundle (dist/apps/cli/main.js), else under the cwd. */
export function findAppMain(app: 'capture' | 'applier'): string | undefined {
  const candidates = [
    join(__dirname, '..', app, 'main.js'),
    resolve(process.cwd(), 'dist', 'apps', app, 'main.js'),
  ];
  return candidates.find((p) => existsSync(p));
}

/** The last lines of a child's log, for an error that says why it died. */
export function logTail(file: string, lines = 15): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}
