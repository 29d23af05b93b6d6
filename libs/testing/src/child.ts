import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { exited, killOnExit } from '@cdc/stack';

// One implementation, in @cdc/stack's process helpers; re-exported here for the specs that import it from testing.
export { exited } from '@cdc/stack';

const ROOT = join(__dirname, '..', '..', '..');

/** A built deployable or the CLI, started as a child process of the test, with its output collected. */
export interface BuiltProcess {
  readonly child: ChildProcess;
  /** stdout and stderr so far, interleaved as they arrived. */
  output(): string;
  /** Resolves with the exit status (null when killed by a signal) and ms since `signalledAt` (or the start). */
  readonly exit: Promise<{ code: number | null; ms: number }>;
  /** Sends `signal` and remembers when, so `exit.ms` is the time the process took to end after it. */
  signal(signal: NodeJS.Signals): void;
}

/**
 * Spawns `node dist/apps/<app>/main.js` (or the CLI, `bin/cdc.js`, for app 'cli') with exactly `env` (plus
 * PATH and HOME unless given); killed with the test process if still running. Needs `npm run build` first.
 */
export function spawnBuilt(
  app: 'cli' | 'capture' | 'applier' | 'verifier' | 'profiles-consumer',
  args: readonly string[],
  env: Record<string, string | undefined>,
): BuiltProcess {
  const entry = app === 'cli' ? join(ROOT, 'bin', 'cdc.js') : join(ROOT, 'dist', 'apps', app, 'main.js');
  const built = join(ROOT, 'dist', 'apps', app, 'main.js');
  if (!existsSync(built)) throw new Error(`${built} is missing: run \`npm run build\` first`);
  const child = spawn(process.execPath, [entry, ...args], {
    env: { PATH: process.env.PATH, HOME: process.env.HOME, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  killOnExit(child);
  let out = '';
  child.stdout?.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  let since = Date.now();
  return {
    child,
    output: () => out,
    exit: exited(child).then((code) => ({ code, ms: Date.now() - since })),
    signal(signal) {
      since = Date.now();
      child.kill(signal);
    },
  };
}
