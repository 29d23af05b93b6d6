import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { childEnv, localAwsDefaults } from '@cdc/config';
import type { Admin } from '@cdc/kafka';
import { freePort } from '@cdc/stack';
import { type CommitSample, type Outcomes, outcomesFrom } from './applier-figures';
import { findAppMain, logTail } from './deployables';
import { promByLabel } from './stats';

export interface ApplierTarget {
  readonly kafkaBrokers: string;
  readonly dynamodbEndpoint: string;
  readonly sourceId: string;
  readonly topic: string;
  readonly table: string;
  readonly group: string;
  readonly partitions: number;
  readonly concurrency: number;
}

/** Env of the applier deployable: the user's environment minus any replicator setting, plus ours. */
function applierEnv(t: ApplierTarget, httpPort: number): NodeJS.ProcessEnv {
  return childEnv({
    KAFKA_BROKERS: t.kafkaBrokers,
    DYNAMODB_ENDPOINT: t.dynamodbEndpoint,
    // DynamoDB Local takes any credentials made of letters and digits; real ones are left alone.
    ...localAwsDefaults(),
    CDC_SOURCE_ID: t.sourceId,
    CDC_TOPIC: t.topic,
    CDC_TABLE: t.table,
    CDC_APPLIER_GROUP: t.group,
    CDC_TOPIC_PARTITIONS: t.partitions,
    CDC_APPLIER_CONCURRENCY: t.concurrency,
    HTTP_PORT: httpPort,
    LOG_LEVEL: 'warn',
  });
}

export const findApplierMain = (): string | undefined => findAppMain('applier');

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The applier deployable in its own process, as it runs in production: its CPU is its own, measured apart. */
export class ChildApplier {
  private readonly exited: Promise<void>;
  private exitCode: number | null | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly base: string,
    private readonly logFile: string,
  ) {
    this.exited = new Promise((r) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        r();
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  /** Throws with the end of its log when the applier died (a benchmark must not wait out its timeouts). */
  assertRunning(): void {
    if (!this.running)
      throw new Error(`the applier exited with code ${this.exitCode}:\n${logTail(this.logFile)}`);
  }

  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      this.assertRunning();
      const ok = await fetch(`${this.base}/health`).then(
        (r) => r.ok,
        () => false, // not listening yet
      );
      if (ok) return;
      await sleep(100);
    }
    throw new Error(
      `the applier was not ready after ${timeoutMs} ms (log: ${this.logFile}):\n${logTail(this.logFile)}`,
    );
  }

  /** Cumulative cdc_applier_events_total by outcome. */
  async outcomes(): Promise<Outcomes> {
    const text = await fetch(`${this.base}/metrics`).then((r) => r.text());
    return outcomesFrom(promByLabel(text, 'cdc_applier_events_total', 'outcome'));
  }

  /** Graceful stop (SIGTERM: the applier drains its in-flight batch and commits). */
  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const done = await Promise.race([this.exited.then(() => true), sleep(30_000).then(() => false)]);
    if (!done) {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  /** Last resort when the benchmark itself dies: synchronous. */
  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

export async function startChildApplier(
  main: string,
  target: ApplierTarget,
  logFile: string,
  readyTimeoutMs = 90_000,
): Promise<ChildApplier> {
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, [main], {
      env: applierEnv(target, port),
      stdio: ['ignore', fd, fd],
    });
    const runner = new ChildApplier(child, `http://127.0.0.1:${port}`, logFile);
    try {
      await runner.waitReady(readyTimeoutMs);
    } catch (err) {
      runner.kill();
      throw err;
    }
    return runner;
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

/** A consumer group's committed offsets summed over the topic's partitions (none committed = 0). */
export async function committedSum(admin: Admin, groupId: string, topic: string): Promise<number> {
  const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
  return (offsets?.partitions ?? []).reduce((sum, p) => sum + Math.max(0, Number(p.offset)), 0);
}

const COMMIT_POLL_MS = 250;

/**
 * Polls the group's commits until they reach `total` (consumer lag 0), recording each change with its time.
 * Stops early when the applier died or nothing was committed for `stallMs`. The poll interval bounds the
 * timing error of each sample; it is not shorter because every OffsetFetch costs the broker CPU on the cores the
 * applier and DynamoDB Local share (measured on an idle broker: 0.04 cores; polled every 25 ms, 0.28; every
 * 100 ms, 0.07). A drain window lasts over ten seconds, so 250 ms at either end is an unbiased ~1%.
 */
export async function watchCommits(
  admin: Admin,
  applier: ChildApplier,
  group: { groupId: string; topic: string; total: number },
  opts: { stallMs: number; intervalMs?: number; onProgress?: (committed: number) => void },
): Promise<{ samples: CommitSample[]; complete: boolean; startedAt: number }> {
  const startedAt = performance.now();
  const samples: CommitSample[] = [];
  let committed = 0;
  let lastChange = startedAt;
  for (;;) {
    applier.assertRunning();
    const now = await committedSum(admin, group.groupId, group.topic);
    const atMs = performance.now();
    if (now !== committed) {
      committed = now;
      lastChange = atMs;
      samples.push({ atMs, committed });
      opts.onProgress?.(committed);
    }
    if (committed >= group.total) return { samples, complete: true, startedAt };
    if (atMs - lastChange > opts.stallMs) return { samples, complete: false, startedAt };
    await sleep(opts.intervalMs ?? COMMIT_POLL_MS);
  }
}
