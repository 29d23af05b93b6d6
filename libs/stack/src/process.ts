import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  openSync,
  readFileSync,
  readSync,
  readdirSync,
  readlinkSync,
  statSync,
} from 'node:fs';
import { delimiter, join, sep } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Finds an executable on the given PATH at call time (not at import), so callers and tests can vary it. */
export function resolveExecutable(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    const candidate = join(dir, name);
    try {
      const st = statSync(candidate);
      if (st.isFile() && (st.mode & 0o111) !== 0) return candidate;
    } catch {
      /* not here */
    }
  }
  return undefined;
}

/** Last n lines of a text, without the trailing empty line a log usually ends with. */
export function tailLines(text: string, n: number): string {
  const lines = text.split(/\r?\n/);
  while (lines.length > 0 && lines[lines.length - 1] === '') lines.pop();
  return lines.slice(Math.max(0, lines.length - n)).join('\n');
}

/** Last n lines of a (possibly large) log file; '' when it does not exist. */
export function tailFile(path: string, n = 40, maxBytes = 64 * 1024): string {
  try {
    const size = statSync(path).size;
    const fd = openSync(path, 'r');
    try {
      const len = Math.min(size, maxBytes);
      const buf = Buffer.alloc(len);
      readSyncAll(fd, buf, size - len);
      return tailLines(buf.toString('utf8'), n);
    } finally {
      closeSync(fd);
    }
  } catch {
    return '';
  }
}

function readSyncAll(fd: number, buf: Buffer, position: number): void {
  let off = 0;
  while (off < buf.length) {
    const n = readSync(fd, buf, off, buf.length - off, position + off);
    if (n <= 0) break;
    off += n;
  }
}

export interface ExitInfo {
  code: number | null;
  signal: NodeJS.Signals | null;
  error?: Error;
}

export interface Spawned {
  pid: number;
  child: ChildProcess;
  /** Set once the process has exited (or failed to spawn). */
  exited(): ExitInfo | undefined;
}

/**
 * Starts a long-lived engine in its own process group (so the whole group can be signalled), stdout and stderr
 * into its log file, unref'ed so the CLI that started it can exit and leave it running.
 */
export function spawnDetached(
  cmd: string,
  args: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; logFile: string },
): Spawned {
  const fd = openSync(opts.logFile, 'a');
  let exit: ExitInfo | undefined;
  let child: ChildProcess;
  try {
    child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, detached: true, stdio: ['ignore', fd, fd] });
  } finally {
    closeSync(fd); // the child has its own copy
  }
  child.once('error', (error) => (exit ??= { code: null, signal: null, error }));
  child.once('exit', (code, signal) => (exit ??= { code, signal }));
  child.unref();
  if (child.pid === undefined) {
    // spawn errors (ENOENT, EACCES) are reported asynchronously; the pid tells us synchronously.
    throw new Error(`could not start ${cmd}`);
  }
  return { pid: child.pid, child, exited: () => exit };
}

/** Runs a short command to completion, output appended to logFile (or collected), with a timeout. */
export function runToExit(
  cmd: string,
  args: string[],
  opts: { cwd?: string; env: NodeJS.ProcessEnv; timeoutMs: number; logFile?: string },
): Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const fd = opts.logFile ? openSync(opts.logFile, 'a') : undefined;
    const out = fd === undefined ? 'pipe' : fd;
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', out, out] });
    } finally {
      if (fd !== undefined) closeSync(fd);
    }
    let output = '';
    child.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, opts.timeoutMs);
    child.once('error', (e) => {
      clearTimeout(timer);
      reject(e);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code, signal, output, timedOut });
    });
  });
}

const procStat = (pid: number): { state: string; pgrp: number } | undefined => {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', pgrp: Number(rest[2]) };
  } catch {
    return undefined;
  }
};

/** Alive = signal 0 succeeds and it is not a zombie waiting to be reaped. */
export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'EPERM') return false;
  }
  return procStat(pid)?.state !== 'Z';
}

const hasProc = (): boolean => existsSync('/proc/self/stat');

const listPids = (): number[] =>
  readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .map(Number);

/** Live members of a process group (Linux; elsewhere only the leader is checked). */
export function groupMembers(pgid: number): number[] {
  if (!hasProc()) return isAlive(pgid) ? [pgid] : [];
  return listPids().filter((pid) => {
    const st = procStat(pid);
    return st !== undefined && st.pgrp === pgid && st.state !== 'Z';
  });
}

export const cmdline = (pid: number): string[] => {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
};

/** The JVMs we start carry this argument, so their processes can be found (and told apart) by state dir. */
export const stackMarker = (stateDir: string): string => `-Dcdc.stack.dir=${stateDir}`;

/**
 * Whether a pid (read from state.json, possibly after a reboot) is still one of our engines and not a recycled
 * pid: a JVM with our marker, or a redis-server whose working directory is inside the state dir.
 */
export function ownedBy(pid: number, stateDir: string): boolean {
  if (!hasProc()) return true; // no way to tell: trust state.json
  const argv = cmdline(pid);
  if (argv.includes(stackMarker(stateDir))) return true;
  if (!argv.some((a) => a.includes('redis-server'))) return false;
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    return cwd === stateDir || cwd.startsWith(stateDir + sep);
  } catch {
    return false;
  }
}

/** Every live process that belongs to the stack in stateDir, whether state.json knows it or not. */
export function findStackProcesses(stateDir: string): number[] {
  if (!hasProc()) return [];
  return listPids().filter((pid) => pid !== process.pid && isAlive(pid) && ownedBy(pid, stateDir));
}

const signalGroup = (pid: number, sig: NodeJS.Signals): void => {
  for (const target of [-pid, pid]) {
    try {
      process.kill(target, sig);
    } catch {
      /* already gone, or not a group leader */
    }
  }
};

const gone = (pid: number): boolean => !isAlive(pid) && groupMembers(pid).length === 0;

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (gone(pid)) return true;
    await sleep(50);
  }
  return gone(pid);
}

/** SIGTERM to the process group, up to graceMs for a clean exit, then SIGKILL. Resolves true once all are gone. */
export async function stopGroup(pid: number, graceMs = 10_000): Promise<boolean> {
  if (gone(pid)) return true;
  signalGroup(pid, 'SIGTERM');
  if (await waitGone(pid, graceMs)) return true;
  signalGroup(pid, 'SIGKILL');
  return waitGone(pid, 5_000);
}

/** Resolves with the child's exit code (null when a signal ended it), at once if it has already exited. */
export function exited(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    if (child.exitCode !== null || child.signalCode !== null) return resolve(child.exitCode);
    child.once('exit', (code) => resolve(code));
  });
}

// Children still running when this process exits (a crashed suite, a failed benchmark) are killed then.
const killedOnExit = new Set<ChildProcess>();
let exitHookInstalled = false;

/** SIGKILLs `child` when this process exits, unless it has exited by then. */
export function killOnExit(child: ChildProcess): void {
  if (!exitHookInstalled) {
    exitHookInstalled = true;
    process.once('exit', () => {
      for (const c of killedOnExit) {
        try {
          c.kill('SIGKILL');
        } catch {
          // already gone
        }
      }
    });
  }
  killedOnExit.add(child);
  child.once('exit', () => killedOnExit.delete(child));
}
