import { type ChildProcess, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dynamoArgs, findDynamoDbLocal, freePort, probeDynamo, resolveJava } from '@cdc/stack';
import { waitFor } from './wait';

/**
 * A private, file-backed DynamoDB Local for tests that stop and restart DynamoDB (never the shared one of the
 * stack). File-backed (-dbPath) so a restart on the same port keeps the tables, items and streams.
 */
export interface TestDynamoDbLocal {
  readonly port: number;
  readonly endpoint: string;
  /** The pid of the running JVM; undefined while stopped. */
  readonly pid: number | undefined;
  /** Kills the JVM (SIGKILL by default: a crash, not a shutdown). The data directory stays. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same port and data directory, and waits until it answers. */
  start(): Promise<void>;
  /** Kills it and removes its data directory. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const child of live) child.kill('SIGKILL');
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

export async function startDynamoDbLocal(opts: { readyTimeoutMs?: number } = {}): Promise<TestDynamoDbLocal> {
  installExitHook();
  const java = await resolveJava(process.env);
  const dist = findDynamoDbLocal();
  const port = await freePort({ allInterfaces: true }); // DynamoDB Local binds 0.0.0.0
  const dir = mkdtempSync(join(tmpdir(), 'cdc-dynamodb-'));
  const dbPath = join(dir, 'db');
  mkdirSync(dbPath);
  const endpoint = `http://127.0.0.1:${port}`;
  const args = dynamoArgs({ dist, port, tmpDir: dir, stateDir: dir, fastStart: true, dbPath });
  let child: ChildProcess | undefined;
  let output = '';

  const start = async (): Promise<void> => {
    output = '';
    const c = spawn(java, args, { cwd: dir, stdio: ['ignore', 'pipe', 'pipe'] });
    live.add(c);
    c.once('exit', () => live.delete(c));
    c.stdout?.on('data', (d: Buffer) => (output += d.toString()));
    c.stderr?.on('data', (d: Buffer) => (output += d.toString()));
    child = c;
    const state = await waitFor(
      `DynamoDB Local on port ${port} to answer`,
      async () => {
        if (c.exitCode !== null) return 'exited'; // stop polling: it will not come up
        await probeDynamo(endpoint);
        return 'ready';
      },
      { timeoutMs: opts.readyTimeoutMs ?? 60_000, intervalMs: 200 },
    );
    if (state === 'exited')
      throw new Error(`DynamoDB Local on port ${port} exited (${c.exitCode}): ${output}`);
  };

  const kill = async (signal: NodeJS.Signals = 'SIGKILL'): Promise<void> => {
    const c = child;
    child = undefined;
    if (!c) return;
    c.kill(signal);
    await exited(c);
  };

  await start();
  return {
    port,
    endpoint,
    get pid() {
      return child?.pid;
    },
    kill,
    start,
    async stop() {
      await kill();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
