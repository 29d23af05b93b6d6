import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
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
  /** SIGKILL, nothing flushed (a crash); `start()` brings it back on the same port and directory. */
  kill(): Promise<void>;
  /** Starts it again after kill(), with the same arguments (or these). */
  start(args?: readonly string[]): Promise<void>;
  /** SIGSTOP / SIGCONT: a server that stops answering (and reading its replication link) without closing it. */
  pause(): void;
  resume(): void;
  stop(): Promise<void>;
}

interface LaunchSpec {
  readonly binary: string;
  readonly argv: readonly string[];
  readonly port: number;
  readonly ready: string;
  readonly timeoutMs: number;
  readonly what: string;
}

function launch(spec: LaunchSpec): Promise<ChildProcess> {
  const child = spawn(spec.binary, [...spec.argv], { stdio: ['ignore', 'pipe', 'pipe'] });
  killOnExit(child);
  let output = '';
  return new Promise<ChildProcess>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(
          `${spec.what} on port ${spec.port} not ready after ${spec.timeoutMs} ms; output:\n${output}`,
        ),
      );
    }, spec.timeoutMs);
    const onData = (chunk: Buffer) => {
      output += chunk.toString();
      if (output.includes(spec.ready)) {
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
          `${spec.what} on port ${spec.port} exited early (code ${code}, signal ${signal}); output:\n${output}`,
        ),
      );
    });
  });
}

function terminate(child: ChildProcess, signal: NodeJS.Signals = 'SIGTERM'): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise<void>((resolve) => {
    const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(force);
      resolve();
    });
    child.kill('SIGCONT'); // a paused server cannot act on SIGTERM
    child.kill(signal);
  });
}

/** A server process that can be restarted, killed, started again, paused and resumed on one port. */
function managed(
  spec: LaunchSpec,
  dir: string,
  first: ChildProcess,
  respec: (args?: readonly string[]) => LaunchSpec,
): TestRedisServer {
  let child: ChildProcess | undefined = first;
  return {
    port: spec.port,
    url: `redis://127.0.0.1:${spec.port}`,
    get pid() {
      return child?.pid;
    },
    async restart() {
      if (child) await terminate(child);
      child = undefined;
      child = await launch(respec());
    },
    async kill() {
      if (child) await terminate(child, 'SIGKILL');
      child = undefined;
    },
    async start(args) {
      if (child) throw new Error(`${spec.what} on port ${spec.port} is running`);
      child = await launch(respec(args));
    },
    pause() {
      child?.kill('SIGSTOP');
    },
    resume() {
      child?.kill('SIGCONT');
    },
    async stop() {
      if (child) await terminate(child);
      child = undefined;
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Starts `redis-server --port <free> --save "" --appendonly no` (nothing on disk) and waits until it accepts connections. */
export async function startRedisServer(opts: RedisServerOptions = {}): Promise<TestRedisServer> {
  const binary = opts.binary ?? 'redis-server';
  const port = opts.port ?? (await findFreePort());
  const dir = mkdtempSync(join(tmpdir(), 'cdc-redis-'));
  let args = opts.args ?? [];
  const spec = (extra?: readonly string[]): LaunchSpec => {
    if (extra) args = extra;
    return {
      binary,
      port,
      what: 'redis-server',
      ready: 'Ready to accept connections',
      timeoutMs: opts.readyTimeoutMs ?? 10_000,
      argv: [
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
    };
  };
  const first = spec();
  return managed(first, dir, await launch(first), spec);
}

/**
 * Starts a Redis Sentinel (`redis-server <conf> --sentinel`) monitoring `primaryPort` as `name`, with a
 * config file of its own (Sentinel rewrites it), and waits until it monitors the primary.
 */
export async function startSentinel(opts: {
  readonly name: string;
  readonly primaryPort: number;
  readonly quorum: number;
  readonly downAfterMs?: number;
  readonly failoverTimeoutMs?: number;
}): Promise<TestRedisServer> {
  const port = await findFreePort();
  const dir = mkdtempSync(join(tmpdir(), 'cdc-sentinel-'));
  const conf = join(dir, 'sentinel.conf');
  writeFileSync(
    conf,
    [
      `port ${port}`,
      'bind 127.0.0.1',
      `dir ${dir}`,
      `sentinel monitor ${opts.name} 127.0.0.1 ${opts.primaryPort} ${opts.quorum}`,
      `sentinel down-after-milliseconds ${opts.name} ${opts.downAfterMs ?? 1_000}`,
      // Also how soon a Sentinel may try another failover of the same primary (twice this): keep it short.
      `sentinel failover-timeout ${opts.name} ${opts.failoverTimeoutMs ?? 3_000}`,
      `sentinel parallel-syncs ${opts.name} 1`,
      '',
    ].join('\n'),
  );
  const spec = (): LaunchSpec => ({
    binary: 'redis-server',
    port,
    what: 'redis sentinel',
    ready: `+monitor master ${opts.name}`,
    timeoutMs: 10_000,
    argv: [conf, '--sentinel'],
  });
  const first = spec();
  return managed(first, dir, await launch(first), spec);
}
