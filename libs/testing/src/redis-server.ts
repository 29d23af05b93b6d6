import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { killOnExit } from '@cdc/stack';

/**
 * A private redis-server for tests that must reconfigure, restart or break Redis (never the shared one of the
 * stack, never the machine's 6379). Test helper only: apps and libs never import it.
 */

const promised = new Set<number>();

/** A TCP port the OS calls free on 127.0.0.1 (listen on 0, read it, close); never the same one twice per process. */
export async function findFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const srv = createServer();
      srv.unref();
      srv.once('error', reject);
      srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, () => {
        const addr = srv.address();
        const got = typeof addr === 'object' && addr ? addr.port : 0;
        srv.close(() => resolve(got));
      });
    });
    if (port > 0 && port !== 6379 && !promised.has(port)) {
      promised.add(port);
      return port;
    }
  }
  throw new Error('no free TCP port on 127.0.0.1 after 50 attempts');
}

export interface RedisServerOptions {
  /** Extra command-line arguments, e.g. ['--notify-keyspace-events', ''] or ['--rename-command', 'CONFIG', '']. */
  readonly args?: readonly string[];
  /** Default: a free port. */
  readonly port?: number;
  readonly binary?: string;
  readonly readyTimeoutMs?: number;
}

export interface TestRedisServer {
  readonly port: number;
  readonly url: string;
  /** The pid of the running process (changes on restart); undefined once stopped. */
  readonly pid: number | undefined;
  /** Stops (SIGTERM, then SIGKILL) and starts again on the same port with the same arguments. */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

function launch(
  binary: string,
  port: number,
  dir: string,
  args: readonly string[],
  timeoutMs: number,
): Promise<ChildProcess> {
  const child = spawn(
    binary,
    [
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--save',
      '',
      '--appendonly',
      'no',
      '--dir',
      dir,
      '--logfile',
      '',
      ...args,
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  killOnExit(child);
  let output = '';
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`redis-server on port ${port} not ready after ${timeoutMs} ms; output:\n${output}`));
    }, timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes('Ready to accept connections')) {
        clearTimeout(timer);
        child.stdout?.off('data', onData);
        child.stdout?.resume(); // keep draining so the pipe never blocks the server
        resolve(child);
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (c: Buffer) => (output += c.toString()));
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `redis-server on port ${port} exited early (code ${code}, signal ${signal}); output:\n${output}`,
        ),
      );
    });
  });
}

function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/** Starts `redis-server --port <free> --save "" --appendonly no` (nothing on disk) and waits until it accepts connections. */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<TestRedisServer> {
  const binary = opts.binary ?? 'redis-server';
  const args = opts.args ?? [];
  const timeoutMs = opts.readyTimeoutMs ?? 10_000;
  const port = opts.port ?? (await findFreePort());
  const dir = mkdtempSync(join(tmpdir(), 'cdc-redis-'));
  let child: ChildProcess | undefined = await launch(binary, port, dir, args, timeoutMs);
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    get pid() {
      return child?.pid;
    },
    async restart() {
      if (child) await terminate(child);
      child = undefined;
      child = await launch(binary, port, dir, args, timeoutMs);
    },
    async stop() {
      if (child) await terminate(child);
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
