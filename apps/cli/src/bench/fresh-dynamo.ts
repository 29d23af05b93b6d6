import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { dynamoArgs, findDynamoDbLocal, freePort, probeDynamo, resolveJava } from '@cdc/stack';

/** A second, in-memory DynamoDB Local with its full JIT, for one benchmark phase; gone after stop(). */
export interface FreshDynamo {
  readonly endpoint: string;
  readonly pid: number | undefined;
  stop(): Promise<void>;
  kill(): void;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * DynamoDB Local gets slower the more items and stream records it holds (a table it served for minutes is not a
 * table in its first seconds; real DynamoDB does not age like that). A phase that must not inherit the earlier
 * phases' state runs on one of these instead of the stack's.
 */
export async function startFreshDynamo(readyTimeoutMs = 60_000): Promise<FreshDynamo> {
  const java = await resolveJava(process.env);
  const port = await freePort({ allInterfaces: true }); // DynamoDB Local binds 0.0.0.0
  const dir = mkdtempSync(join(tmpdir(), 'cdc-bench-dynamodb-'));
  const args = dynamoArgs({ dist: findDynamoDbLocal(), port, tmpDir: dir, stateDir: dir, fastStart: false });
  const child: ChildProcess = spawn(java, args, { cwd: dir, stdio: 'ignore' });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await Promise.race([exited, sleep(10_000).then(() => child.kill('SIGKILL'))]);
    rmSync(dir, { recursive: true, force: true });
  };
  const deadline = performance.now() + readyTimeoutMs;
  for (;;) {
    if (child.exitCode !== null) {
      await stop();
      throw new Error(`a fresh DynamoDB Local for the benchmark exited with code ${child.exitCode}`);
    }
    try {
      await probeDynamo(endpoint);
      break;
    } catch (err) {
      if (performance.now() > deadline) {
        await stop();
        throw new Error(`a fresh DynamoDB Local did not answer on ${endpoint}: ${(err as Error).message}`);
      }
      await sleep(200);
    }
  }
  return { endpoint, pid: child.pid, stop, kill: () => child.kill('SIGKILL') };
}
