import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dynamoArgs, findDynamoDbLocal } from './engines/dynamodb';
import { resolveJava } from './engines/java';
import { freePort } from './ports';
import { exited, killOnExit } from './process';
import { probeDynamo } from './probes';

/**
 * A DynamoDB Local of one caller's own, outside any stack: for tests that stop and restart DynamoDB, and for a
 * benchmark phase that must not inherit the state an earlier phase left in the stack's instance.
 */
export interface PrivateDynamo {
  readonly port: number;
  readonly endpoint: string;
  /** The pid of the running JVM; undefined while stopped. */
  readonly pid: number | undefined;
  /** Kills the JVM (SIGKILL by default: a crash, not a shutdown). A file-backed one keeps its data. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port (and data directory), and waits until it answers. */
  start(): Promise<void>;
  /** Kills it and removes its directory. */
  stop(): Promise<void>;
}

export interface PrivateDynamoOptions {
  /** C1-only JIT: starts faster, runs slower (tests: true; benchmarks: false). */
  readonly fastStart: boolean;
  /** -dbPath instead of -inMemory, so a restart keeps the tables, items and streams. */
  readonly fileBacked: boolean;
  readonly readyTimeoutMs?: number;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPrivateDynamo(opts: PrivateDynamoOptions): Promise<PrivateDynamo> {
  const java = await resolveJava(process.env);
  const dist = findDynamoDbLocal();
  const port = await freePort({ allInterfaces: true }); // DynamoDB Local binds 0.0.0.0
  const dir = mkdtempSync(join(tmpdir(), 'cdc-dynamodb-'));
  const dbPath = opts.fileBacked ? join(dir, 'db') : undefined;
  if (dbPath) mkdirSync(dbPath);
  const endpoint = `http://127.0.0.1:${port}`;
  const args = dynamoArgs({ dist, port, tmpDir: dir, stateDir: dir, fastStart: opts.fastStart, dbPath });
  const readyTimeoutMs = opts.readyTimeoutMs ?? 60_000;
  let child: ChildProcess | undefined;
  let output = '';

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c) return;
    c.kill(signal);
    await exited(c);
  };

  const start = async (): Promise<void> => {
    output = '';
    const c = spawn(java, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    killOnExit(c); // whatever happens to the caller, no JVM outlives it
    c.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    let spawnError: Error | undefined;
    c.once('error', (err) => (spawnError = err)); // java missing or not executable: no 'exit' follows
    child = c;
    const deadline = performance.now() + readyTimeoutMs;
    for (;;) {
      if (spawnError) throw new Error(`DynamoDB Local could not be started (${java}): ${spawnError.message}`);
      if (c.exitCode !== null || c.signalCode !== null)
        throw new Error(`DynamoDB Local on port ${port} exited (${c.exitCode ?? c.signalCode}): ${output}`);
      try {
        await probeDynamo(endpoint);
        return;
      } catch (err) {
        if (performance.now() > deadline) {
          await kill();
          throw new Error(
            `DynamoDB Local on port ${port} did not answer within ${readyTimeoutMs} ms: ${(err as Error).message}`,
          );
        }
        await sleep(200);
      }
    }
  };

  const stop = async (): Promise<void> => {
    await kill();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    await start();
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    port,
    endpoint,
    get pid() {
      return child?.pid;
    },
    kill,
    start,
    stop,
  };
}
