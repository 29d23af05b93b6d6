import type { ChildProcess } from 'node:child_process';

/** Resolves with the child's exit code (null when a signal ended it), at once if it has already exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}
