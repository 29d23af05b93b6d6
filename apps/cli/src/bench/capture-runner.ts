import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CaptureModule, CaptureService } from '@cdc/capture';
import { childEnv, ConfigModule, type EnvSettings, loadConfig, toEnv } from '@cdc/config';
import { createLogger, type Logger, Metrics, ObservabilityModule } from '@cdc/observability';
import { freePort } from '@cdc/stack';
import { findAppMain, logTail } from './deployables';
import { promTotal } from './stats';

/** What the benchmark reads from a running capture: cumulative since that capture started. */
export interface CaptureSnapshot {
  readonly notifications: number;
  readonly coalesced: number;
  readonly events: number;
  readonly pending: number;
  /** Notification gaps capture detected (0 when this capture version has no gap detection). */
  readonly gaps: number;
  /** Keys re-captured by reconciliation scans (idem). */
  readonly reconciledKeys: number;
}

/** Counters read from a Prometheus exposition, by name, so any capture version's /metrics can be read. */
function fromExposition(text: string, pending: number): CaptureSnapshot {
  return {
    notifications: promTotal(text, 'cdc_capture_notifications_total'),
    coalesced: promTotal(text, 'cdc_capture_coalesced_notifications_total'),
    events: promTotal(text, 'cdc_capture_events_total'),
    pending,
    gaps: promTotal(text, 'cdc_capture_gaps_total'),
    reconciledKeys: promTotal(text, 'cdc_capture_reconcile_keys_total'),
  };
}

export interface CaptureRunner {
  readonly mode: 'child-process' | 'in-process';
  /** The capture process, when it is not this one (for CPU accounting). */
  readonly pid?: number;
  snapshot(): Promise<CaptureSnapshot>;
  /** Graceful stop (SIGTERM / app.close: capture drains what is pending). */
  stop(): Promise<void>;
  /** Last resort when the benchmark itself dies: synchronous. */
  kill(): void;
}

/**
 * Waits until capture has received one notification per write and turned every one of them into an event
 * (events = notifications - coalesced, nothing pending), or 60 s. Returns how long that took after the writer
 * stopped, and whether it got there.
 */
export async function fenceCapture(
  runner: CaptureRunner,
  writes: number,
): Promise<{ snap: CaptureSnapshot; ms: number; ok: boolean }> {
  const t0 = performance.now();
  let snap = await runner.snapshot();
  while (performance.now() - t0 < FENCE_TIMEOUT_MS) {
    if (
      snap.notifications >= writes &&
      snap.pending === 0 &&
      snap.events >= snap.notifications - snap.coalesced
    )
      return { snap, ms: performance.now() - t0, ok: true };
    await new Promise((r) => setTimeout(r, 50));
    snap = await runner.snapshot();
  }
  return { snap, ms: performance.now() - t0, ok: false };
}

const FENCE_TIMEOUT_MS = 60_000;

export interface CaptureTarget {
  readonly redisUrl: string;
  readonly kafkaBrokers: string;
  readonly sourceId: string;
  readonly topic: string;
  readonly partitions: number;
  readonly batchSize: number;
  /** Capture reads on this replica of redisUrl (REDIS_READ_FROM=replica); unset = on the primary. */
  readonly replicaUrl?: string;
  /** REDIS_READ_FROM=replica without a pinned replica (a cluster: one replica per shard, found by capture). */
  readonly readFrom?: 'primary' | 'replica';
}

/** The REDIS_READ_FROM settings of a target. */
const readFromEnv = (t: CaptureTarget): EnvSettings =>
  t.replicaUrl
    ? { REDIS_READ_FROM: 'replica', REDIS_REPLICA_URL: t.replicaUrl }
    : t.readFrom === 'replica'
      ? { REDIS_READ_FROM: 'replica' }
      : {};

/** The capture settings of a target, in process or in a child. */
const captureSettings = (t: CaptureTarget): EnvSettings => ({
  REDIS_URL: t.redisUrl,
  ...readFromEnv(t),
  KAFKA_BROKERS: t.kafkaBrokers,
  CDC_SOURCE_ID: t.sourceId,
  CDC_TOPIC: t.topic,
  CDC_TOPIC_PARTITIONS: t.partitions,
  CDC_CAPTURE_BATCH_SIZE: t.batchSize,
  LOG_LEVEL: 'warn',
});

/** Env of the capture deployable: the user's environment minus any replicator setting, plus ours. */
function captureEnv(t: CaptureTarget, httpPort: number): NodeJS.ProcessEnv {
  return childEnv({ ...captureSettings(t), HTTP_PORT: httpPort });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export const findCaptureMain = (): string | undefined => findAppMain('capture');

/** The real deployable in its own process: the writer then measures Redis' cost, not event-loop sharing. */
class ChildCapture implements CaptureRunner {
  readonly mode = 'child-process' as const;
  private exited: Promise<number | null>;
  private exitCode: number | null | undefined;

  constructor(
    private readonly child: ChildProcess,
    private readonly base: string,
  ) {
    this.exited = new Promise((r) =>
      child.once('exit', (code, signal) => {
        this.exitCode = code ?? (signal ? -1 : null);
        r(this.exitCode);
      }),
    );
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  get running(): boolean {
    return this.exitCode === undefined;
  }

  async waitReady(timeoutMs: number, logFile: string): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running)
        throw new Error(
          `capture exited with code ${this.exitCode} before it was ready:\n${logTail(logFile)}`,
        );
      try {
        const res = await fetch(`${this.base}/health`);
        if (res.ok) return;
      } catch {
        // not listening yet
      }
      await sleep(100);
    }
    throw new Error(`capture was not ready after ${timeoutMs} ms (log: ${logFile}):\n${logTail(logFile)}`);
  }

  async snapshot(): Promise<CaptureSnapshot> {
    const [metrics, health] = await Promise.all([
      fetch(`${this.base}/metrics`).then((r) => r.text()),
      fetch(`${this.base}/health`).then((r) => r.json() as Promise<HealthBody>),
    ]);
    return fromExposition(
      metrics,
      Number(health.details?.capture?.pending ?? health.info?.capture?.pending ?? 0),
    );
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child.kill('SIGTERM');
    const code = await Promise.race([this.exited, sleep(30_000).then(() => 'timeout' as const)]);
    if (code === 'timeout') {
      this.child.kill('SIGKILL');
      await this.exited;
    }
  }

  kill(): void {
    if (this.running) this.child.kill('SIGKILL');
  }
}

interface HealthBody {
  info?: { capture?: { pending?: number } };
  details?: { capture?: { pending?: number } };
}

export async function startChildCapture(
  main: string,
  target: CaptureTarget,
  logFile: string,
  readyTimeoutMs = 60_000,
): Promise<CaptureRunner> {
  const port = await freePort();
  const fd = openSync(logFile, 'a');
  try {
    const child = spawn(process.execPath, [main], {
      env: captureEnv(target, port),
      stdio: ['ignore', fd, fd],
    });
    const runner = new ChildCapture(child, `http://127.0.0.1:${port}`);
    try {
      await runner.waitReady(readyTimeoutMs, logFile);
    } catch (err) {
      runner.kill();
      throw err;
    }
    return runner;
  } finally {
    closeSync(fd); // the child holds its own copy
  }
}

@Module({})
class BenchCaptureModule {
  static forRoot(target: CaptureTarget, metrics: Metrics, logger: Logger): DynamicModule {
    const config = loadConfig(toEnv(captureSettings(target)));
    return {
      module: BenchCaptureModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ logger, metrics, http: false }),
        CaptureModule,
      ],
    };
  }
}

/** CaptureService inside the benchmark process (when the capture deployable is not built). */
class InProcessCapture implements CaptureRunner {
  readonly mode = 'in-process' as const;
  constructor(
    private readonly app: INestApplicationContext,
    private readonly metrics: Metrics,
  ) {}

  async snapshot(): Promise<CaptureSnapshot> {
    return fromExposition(await this.metrics.registry.metrics(), this.app.get(CaptureService).stats.pending);
  }

  async stop(): Promise<void> {
    await this.app.close();
  }

  kill(): void {
    // Nothing outlives the process.
  }
}

export async function startInProcessCapture(target: CaptureTarget): Promise<CaptureRunner> {
  const metrics = new Metrics({ defaultMetrics: false });
  const logger = createLogger('warn', 'cdc-bench-capture', process.stderr);
  const app = await NestFactory.createApplicationContext(
    BenchCaptureModule.forRoot(target, metrics, logger),
    {
      logger: false,
    },
  );
  await app.init();
  return new InProcessCapture(app, metrics);
}
