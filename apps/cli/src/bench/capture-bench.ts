import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { loadConfig } from '@cdc/config';
import { type Admin, createKafka, ensureChangeTopics, type Kafka } from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { createRedisClient } from '@cdc/redis';
import { KAFKA_VERSION } from '@cdc/stack';
import type Redis from 'ioredis';
import {
  type CaptureBenchReport,
  type CapturePhaseStats,
  type CeilingResult,
  type LossResult,
  type WriterPair,
  type WriterPhase,
  type WriterSetup,
  writerFigures,
  writerPair,
} from './capture-report';
import {
  type CaptureRunner,
  type CaptureTarget,
  fenceCapture,
  findCaptureMain,
  startChildCapture,
  startInProcessCapture,
} from './capture-runner';
import { type BareSubscriber, startBareSubscriber } from './bare-subscriber';
import { CpuMeter } from './cpu';
import { benchStackDown, benchStackUp } from './bench-stack';
import { CpuPinning } from './pinning';
import type { Bar, Progress } from './progress';
import { formatCount, formatRate, ratePerSecond } from './stats';
import { sumEndOffsets, topicLoss, waitForEndOffsets } from './topic';
import { keyName, runBurstWriter, runClosedLoopWriter } from './writer';

export interface CaptureBenchOptions {
  readonly durationS: number;
  readonly clients: number;
  readonly keys: number;
  readonly pairs: number;
  readonly burstKeys: number;
  readonly valueBytes: number;
  /** Writes/s offered in every writer phase (paced clients); undefined: closed loop, as fast as Redis answers. */
  readonly rate?: number;
  /** notify-keyspace-events in B phases (capture's minimum by default). */
  readonly notifyFlags: string;
  /** CDC_CAPTURE_BATCH_SIZE of the capture under test. */
  readonly captureBatchSize: number;
  /** Also run an N phase per pair: notifications on and a bare subscriber (the floor of the ratio). */
  readonly floor: boolean;
  /**
   * replica: the bench stack gets a replica; B phases and the ceiling run capture on it, and each pair adds a P
   * phase with capture on the primary of the same topology, so both modes are measured side by side.
   */
  readonly readFrom: 'primary' | 'replica';
  readonly inProcess: boolean;
  /** The primary alone on CPU 0, everything else on the other CPUs (pinning.ts). */
  readonly pinPrimary?: boolean;
  /** A capture build other than dist/apps/capture/main.js. */
  readonly captureMain?: string;
  readonly command: string;
  readonly reportFile: string;
  readonly captureLog: string;
}

export const WRITER_RATIO_TARGET = 0.9;
/** Reading on a replica, the primary keeps at least this share of its capacity (CPU per write, A ÷ B). */
export const PRIMARY_CAPACITY_TARGET = 0.95;
const PARTITIONS = 6;

/** Lets the command stop what this run started when it is interrupted (Ctrl-C). */
export interface BenchResources {
  capture?: CaptureRunner;
  subscriber?: BareSubscriber;
  stackToStop?: string;
}

const SETUP_TEXT: Record<WriterSetup, string> = {
  off: 'notifications off, nothing listening',
  subscriber: 'notifications on, a bare subscriber that reads nothing',
  capture: 'notifications on, capture running',
  'capture-primary': 'notifications on the primary, capture reading on the primary',
};

const round2 = (n: number): number => Math.round(n * 100) / 100;

class Bench {
  private readonly runId = randomBytes(3).toString('hex');
  private readonly writerPrefix = `bench:${this.runId}:k:`;
  private readonly burstPrefix = `bench:${this.runId}:b:`;
  readonly topic = `cdc.bench-${this.runId}.changes`;
  private readonly captureMain: string | undefined;
  private readonly expected = new Map<string, string>();
  private captureStarts = 0;

  constructor(
    private readonly opts: CaptureBenchOptions,
    private readonly progress: Progress,
    private readonly res: BenchResources,
    private readonly redis: Redis,
    private readonly writers: readonly Redis[],
    private readonly kafka: Kafka,
    private readonly admin: Admin,
    private readonly redisUrl: string,
    private readonly kafkaBrokers: string,
    private readonly enginePids: Readonly<Record<string, number | undefined>>,
    /** Replica mode: the replica's URL and an admin connection to it. */
    private readonly replica?: { readonly url: string; readonly admin: Redis },
    private readonly pinning?: CpuPinning,
  ) {
    this.captureMain = opts.captureMain ?? findCaptureMain();
  }

  /** The engines plus capture / the bare subscriber, when running. */
  private cpuMeter(runner: CaptureRunner | undefined, subscriber?: BareSubscriber): CpuMeter {
    return new CpuMeter({
      ...this.enginePids,
      ...(runner?.pid ? { capture: runner.pid } : {}),
      ...(subscriber?.pid ? { subscriber: subscriber.pid } : {}),
    });
  }

  get captureMode(): 'child-process' | 'in-process' {
    return this.opts.inProcess || !this.captureMain ? 'in-process' : 'child-process';
  }

  /** Which capture build ran, for the report (the deployable is rebuilt as the code moves on). */
  captureBuild(): { captureMain?: string; captureBuiltAt?: string } {
    if (this.captureMode !== 'child-process' || !this.captureMain) return {};
    return {
      captureMain: relative(process.cwd(), this.captureMain),
      captureBuiltAt: statSync(this.captureMain).mtime.toISOString(),
    };
  }

  get captureBatchSize(): number {
    return this.opts.captureBatchSize;
  }

  /** Notifications where the setup's listener is (the reader node), off everywhere else. */
  async notifications(setup: WriterSetup): Promise<void> {
    const flags = this.opts.notifyFlags;
    const onPrimary = this.replica ? setup === 'capture-primary' : setup !== 'off';
    await this.redis.config('SET', 'notify-keyspace-events', onPrimary ? flags : '');
    const onReplica = setup === 'subscriber' || setup === 'capture';
    await this.replica?.admin.config('SET', 'notify-keyspace-events', onReplica ? flags : '');
  }

  private async startCapture(onReplica: boolean): Promise<CaptureRunner> {
    const target: CaptureTarget = {
      ...(onReplica && this.replica ? { replicaUrl: this.replica.url } : {}),
      redisUrl: this.redisUrl,
      kafkaBrokers: this.kafkaBrokers,
      // A new source id per start: capture's downtime detection (an alive marker per source) would otherwise
      // see the A phase as an outage and rescan the whole keyspace; the outage is the benchmark's, not an
      // operator's. Every start still produces into the one topic of this run.
      sourceId: `bench-${this.runId}-${++this.captureStarts}`,
      topic: this.topic,
      partitions: PARTITIONS,
      batchSize: this.opts.captureBatchSize,
    };
    const runner =
      this.captureMode === 'child-process'
        ? await startChildCapture(this.captureMain as string, target, this.opts.captureLog)
        : await startInProcessCapture(target);
    this.res.capture = runner;
    this.pinning?.rest(runner.pid);
    return runner;
  }

  private async stopCapture(runner: CaptureRunner): Promise<void> {
    await runner.stop();
    this.res.capture = undefined;
  }

  /**
   * One writer phase, in one of three setups: notifications off and nothing listening (A), notifications on and
   * a bare subscriber that reads nothing (N, the floor of any notification-driven capture), or notifications on
   * and capture running (B). An unmeasured lead-in under the same conditions comes first (a freshly started
   * capture is not JIT-warm yet). With capture, the phase ends only when capture has turned every write into an
   * event (the fence), and the final values written become the expectations of the loss check.
   */
  async writerPhase(
    name: string,
    setup: WriterSetup,
    timing: { leadInS: number; durationS: number },
  ): Promise<WriterPhase> {
    const withCapture = setup === 'capture' || setup === 'capture-primary';
    await this.notifications(setup);
    const runner = withCapture ? await this.startCapture(setup === 'capture') : undefined;
    const subscriber = setup === 'subscriber' ? await this.startSubscriber() : undefined;
    try {
      this.progress.line(
        `${name}: ${SETUP_TEXT[setup]}${withCapture ? ` (${this.captureMode})` : ''}` +
          (timing.leadInS > 0 ? `; ${timing.leadInS} s lead-in, then ${timing.durationS} s measured` : ''),
      );
      const writer = {
        keys: this.opts.keys,
        keyPrefix: this.writerPrefix,
        valueBytes: this.opts.valueBytes,
        ...(this.opts.rate ? { rate: this.opts.rate } : {}),
      };
      const leadIn =
        timing.leadInS > 0
          ? await runClosedLoopWriter(this.writers, { ...writer, durationMs: timing.leadInS * 1000 })
          : undefined;
      const before = await runner?.snapshot();
      const bar = this.progress.bar(name, timing.durationS, 's');
      const meter = this.cpuMeter(runner, subscriber);
      const result = await runClosedLoopWriter(this.writers, {
        ...writer,
        durationMs: timing.durationS * 1000,
        onProgress: (writes, ms) => bar.update(ms / 1000, `${formatRate(ratePerSecond(writes, ms))} writes`),
      });
      const cpu = meter.stop();
      bar.stop();
      const writesPerS = ratePerSecond(result.writes, result.elapsedMs);
      const subscriberBytes = subscriber
        ? await this.stopSubscriber(subscriber, (leadIn?.writes ?? 0) + result.writes)
        : undefined;
      let captureStats: CapturePhaseStats | undefined;
      if (runner && before) {
        const { snap, ms, ok } = await fenceCapture(runner, (leadIn?.writes ?? 0) + result.writes);
        captureStats = {
          notifications: snap.notifications - before.notifications,
          coalesced: snap.coalesced - before.coalesced,
          events: snap.events - before.events,
          drainMs: Math.round(ms),
          fenced: ok,
          gaps: snap.gaps - before.gaps,
          reconciledKeys: snap.reconciledKeys - before.reconciledKeys,
        };
        for (const [k, v] of leadIn?.finalValues ?? []) this.expected.set(k, v);
        for (const [k, v] of result.finalValues) this.expected.set(k, v);
      }
      const phase: WriterPhase = {
        name,
        setup,
        capture: withCapture,
        writes: result.writes,
        elapsedMs: Math.round(result.elapsedMs),
        writesPerS,
        latencyP50Ms: result.latency.quantile(0.5),
        latencyP99Ms: result.latency.quantile(0.99),
        ...(captureStats ? { captureStats } : {}),
        ...(subscriberBytes !== undefined ? { subscriberBytes } : {}),
        cpu,
        ...(cpu.redis !== undefined && result.writes > 0
          ? { redisUsPerWrite: round2((cpu.redis * result.elapsedMs * 1000) / result.writes) }
          : {}),
        ...(cpu['redis-replica'] !== undefined && result.writes > 0
          ? { replicaUsPerWrite: round2((cpu['redis-replica'] * result.elapsedMs * 1000) / result.writes) }
          : {}),
      };
      this.progress.line(
        `  ${formatRate(writesPerS)} writes (${formatCount(result.writes)} in ${(result.elapsedMs / 1000).toFixed(1)} s)` +
          (captureStats
            ? `; capture: ${formatCount(captureStats.events)} events, ${formatCount(captureStats.coalesced)} coalesced, ` +
              `drained ${captureStats.drainMs} ms after the writer${captureStats.fenced ? '' : ' (NOT all notifications arrived)'}`
            : ''),
      );
      return phase;
    } finally {
      if (runner) await this.stopCapture(runner);
      if (this.res.subscriber) await this.res.subscriber.stop().catch(() => undefined);
      this.res.subscriber = undefined;
    }
  }

  private async startSubscriber(): Promise<BareSubscriber> {
    // It reads its socket the way capture does by default (CDC_CAPTURE_NOTIFY_PAUSE_MS).
    const url = this.replica?.url ?? this.redisUrl;
    const subscriber = await startBareSubscriber(url, 0, loadConfig({}).captureNotifyPauseMs);
    this.res.subscriber = subscriber;
    this.pinning?.rest(subscriber.pid);
    return subscriber;
  }

  /**
   * Stops the bare subscriber and checks it heard every write: a notification of a SET is a RESP push of at
   * least 60 bytes (`pmessage`, the pattern, the channel, the key), so fewer bytes mean it was not subscribed
   * for the whole phase and the phase is no floor.
   */
  private async stopSubscriber(subscriber: BareSubscriber, writes: number): Promise<number> {
    this.res.subscriber = undefined;
    const bytes = await subscriber.stop();
    if (bytes < writes * 60)
      throw new Error(
        `the bench's bare notification subscriber received ${bytes} bytes for ${writes} writes (< 60 bytes per ` +
          'notification): it missed notifications, so this phase measured no floor',
      );
    return bytes;
  }

  async ceiling(): Promise<CeilingResult> {
    const m = this.opts.burstKeys;
    this.progress.line(`ceiling: pre-loading ${formatCount(m)} keys with notifications off`);
    await this.notifications('off');
    const preload = this.progress.bar('pre-load', m, 'keys');
    await runBurstWriter(this.redis, {
      count: m,
      keyPrefix: this.burstPrefix,
      value: (i) => `p:${i}`,
      onProgress: (n) => preload.update(n),
    });
    preload.stop();

    await this.notifications('capture');
    const runner = await this.startCapture(true);
    try {
      const before = await runner.snapshot();
      const base = await sumEndOffsets(this.admin, this.topic);
      this.progress.line(
        `ceiling: burst over ${formatCount(m)} keys, capture idle before it (${this.captureMode})`,
      );
      const bar = this.progress.bar('burst', m, 'events');
      const meter = this.cpuMeter(runner);
      const t0 = performance.now();
      const writing = runBurstWriter(this.redis, {
        count: m,
        keyPrefix: this.burstPrefix,
        value: (i) => `b:${i}`,
      });
      const [written, reached] = await Promise.all([
        writing,
        waitForEndOffsets(this.admin, this.topic, base + m, {
          timeoutMs: Math.max(120_000, m), // 1 ms per key: 1k events/s would be far below any sane ceiling
          onProgress: (sum) => bar.update(sum - base),
        }),
      ]);
      const cpu = meter.stop();
      bar.stop();
      const captureMs = (reached.at ?? performance.now()) - t0;
      const topicEvents = reached.sum - base;
      const { snap } = await fenceCapture(runner, before.notifications + m);
      const result: CeilingResult = {
        keys: m,
        writeMs: Math.round(written.elapsedMs),
        writesPerS: ratePerSecond(m, written.elapsedMs),
        captureMs: Math.round(captureMs),
        eventsPerS: ratePerSecond(topicEvents, captureMs),
        expectedEvents: m,
        topicEvents,
        complete: reached.at !== undefined,
        notifications: snap.notifications - before.notifications,
        coalesced: snap.coalesced - before.coalesced,
        events: snap.events - before.events,
        gaps: snap.gaps - before.gaps,
        reconciledKeys: snap.reconciledKeys - before.reconciledKeys,
        cpu,
        ...(cpu.capture !== undefined && topicEvents > 0
          ? { captureCpuUsPerEvent: Math.round((cpu.capture * captureMs * 1000) / topicEvents) }
          : {}),
      };
      this.progress.line(
        `  ${formatCount(result.topicEvents)} events in ${formatCount(result.captureMs)} ms: ${formatRate(result.eventsPerS)}` +
          ` (burst writer ${formatRate(result.writesPerS)})`,
      );
      return result;
    } finally {
      await this.stopCapture(runner);
    }
  }

  async verify(): Promise<LossResult> {
    this.progress.line(`verify: reading ${this.topic} from the beginning`);
    let bar: Bar | undefined; // sized once the end offsets are known
    const result = await topicLoss(this.kafka, this.admin, this.topic, {
      groupId: `cdc-bench-verify-${this.runId}`,
      writerPrefix: this.writerPrefix,
      burstPrefix: this.burstPrefix,
      expected: this.expected,
      burstKeys: this.opts.burstKeys,
      burstKey: (i) => keyName(this.burstPrefix, i),
      onProgress: (read, total) => {
        bar ??= this.progress.bar('read', total, 'messages');
        bar.update(read);
      },
    });
    bar?.stop();
    const { lost, burstKeysMissing } = result;
    this.progress.line(
      `  ${formatCount(result.messagesConsumed)} messages; ${lost} lost of ${formatCount(this.expected.size)} keys; ` +
        `${burstKeysMissing} of ${formatCount(this.opts.burstKeys)} burst keys missing`,
    );
    return result;
  }

  /** For a reused stack: leave no bench keys or topics behind. */
  async cleanUpData(): Promise<void> {
    await this.notifications('off');
    let cursor = '0';
    do {
      const [next, keys] = await this.redis.scan(cursor, 'MATCH', `bench:${this.runId}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await this.redis.unlink(...keys);
    } while (cursor !== '0');
    await this.admin.deleteTopics({ topics: [this.topic, `${this.topic}.dlq`] }).catch(() => undefined);
  }
}

export async function runCaptureBench(
  opts: CaptureBenchOptions,
  progress: Progress,
  res: BenchResources,
): Promise<CaptureBenchReport> {
  const startedAt = new Date().toISOString();
  const up = await benchStackUp(progress, res, false, opts.readFrom === 'replica' ? 'replica' : 'single');
  const { redisUrl, kafkaBrokers, redisReplicaUrl } = up.endpoints;
  const redisCfg = { url: redisUrl, db: 0 };
  // kafkajs logs transient, retried errors (e.g. the group coordinator not ready yet) at ERROR: real failures
  // surface as exceptions, so only fatal lines are shown.
  const logger = createLogger('fatal', 'cdc-bench', process.stderr);
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'cdc-bench', ssl: false }, logger);
  const admin = kafka.admin();
  const redis = createRedisClient(redisCfg, 'cdc-bench-admin');
  const writers = Array.from({ length: opts.clients }, (_, i) =>
    createRedisClient(redisCfg, `cdc-bench-writer-${i}`, { enableAutoPipelining: false }),
  );
  const replicaAdmin = redisReplicaUrl
    ? createRedisClient({ url: redisReplicaUrl, db: 0 }, 'cdc-bench-replica-admin')
    : undefined;
  let originalNotify: string | undefined;
  let bench: Bench | undefined;
  try {
    await Promise.all([
      redis.connect(),
      admin.connect(),
      ...writers.map((w) => w.connect()),
      replicaAdmin?.connect(),
    ]);
    [, originalNotify = 'KEA'] = (await redis.config('GET', 'notify-keyspace-events')) as string[];
    const redisVersion = /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown';
    const enginePids = Object.fromEntries(up.engines.map((e) => [e.name, e.pid]));
    const pinning = opts.pinPrimary ? new CpuPinning() : undefined;
    if (pinning) {
      for (const e of up.engines) {
        if (e.name === 'redis') pinning.primary(e.pid);
        else pinning.rest(e.pid);
      }
      pinning.rest(process.pid);
    }
    const replica =
      redisReplicaUrl && replicaAdmin ? { url: redisReplicaUrl, admin: replicaAdmin } : undefined;
    bench = new Bench(
      opts,
      progress,
      res,
      redis,
      writers,
      kafka,
      admin,
      redisUrl,
      kafkaBrokers,
      enginePids,
      replica,
      pinning,
    );
    const topic = bench.topic;
    await ensureChangeTopics(kafka, {
      topic,
      dlqTopic: `${topic}.dlq`,
      topicPartitions: PARTITIONS,
      topicReplicationFactor: -1,
    });
    const meta = await admin.fetchTopicMetadata({ topics: [topic] });
    const partitions = meta.topics[0]?.partitions.length ?? 0;

    // Warm-up with capture on, so the Kafka broker, Redis' script cache and the writer are past their JIT
    // warm-up before anything is measured; then every phase has its own short lead-in.
    const warmupS = Math.min(5, Math.max(2, Math.round(opts.durationS / 2)));
    const leadInS = Math.min(2, Math.max(1, Math.round(opts.durationS / 5)));
    await bench.writerPhase('warm-up', 'capture', { leadInS: 0, durationS: warmupS });
    const phases: WriterPhase[] = [];
    const pairs: WriterPair[] = [];
    for (let i = 1; i <= opts.pairs; i++) {
      const timing = { leadInS, durationS: opts.durationS };
      const a = await bench.writerPhase(`A${i}`, 'off', timing);
      const n = opts.floor ? await bench.writerPhase(`N${i}`, 'subscriber', timing) : undefined;
      const b = await bench.writerPhase(`B${i}`, 'capture', timing);
      const p = replica ? await bench.writerPhase(`P${i}`, 'capture-primary', timing) : undefined;
      phases.push(a, ...(n ? [n] : []), b, ...(p ? [p] : []));
      pairs.push(writerPair(i, a, b, n, p));
    }
    const figures = writerFigures(pairs);
    const ceiling = await bench.ceiling();
    const loss = await bench.verify();

    const notes: string[] = [];
    const host = { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown' };
    if (host.cpus <= 4)
      notes.push(
        `${host.cpus} cores are shared by Redis, Kafka, DynamoDB Local (idle), the writer and capture: in B phases ` +
          'capture and the Kafka broker use CPU the writer had to itself in A phases, so the ratio includes that ' +
          'contention as well as Redis’ own cost of publishing notifications and serving capture’s reads.',
      );
    const otherMax = Math.max(0, ...phases.map((p) => p.cpu.other ?? 0), ceiling.cpu.other ?? 0);
    if (figures.medianFloorRatio !== undefined && figures.medianFloorRatio < WRITER_RATIO_TARGET)
      notes.push(
        `Beside a bare subscriber that reads nothing (N phases) the writer already kept only ` +
          `${figures.medianFloorRatio.toFixed(2)}× of its rate: on this box, publishing the notifications and ` +
          `draining them off a socket alone take the writer below the ${WRITER_RATIO_TARGET.toFixed(2)}× target, ` +
          'so no capture driven by keyspace notifications can meet it here.',
      );
    if (otherMax >= 0.2)
      notes.push(
        `Work outside this benchmark used up to ${otherMax.toFixed(2)} cores during the measured windows ` +
          '(the "other" CPU figures): the box was not quiet, which lowers absolute figures on both sides.',
      );
    if (bench.captureMode === 'in-process')
      notes.push(
        'Capture ran inside the benchmark process, so it also competed with the writer for one event loop.',
      );
    if (phases.some((p) => p.captureStats && !p.captureStats.fenced))
      notes.push(
        'In at least one B phase capture did not receive one notification per write (see the JSON report).',
      );
    if (!ceiling.complete)
      notes.push('The ceiling burst did not reach the expected event count before the timeout.');
    const gaps = phases.reduce((n, p) => n + (p.captureStats?.gaps ?? 0), ceiling.gaps);
    const reconciled = phases.reduce(
      (n, p) => n + (p.captureStats?.reconciledKeys ?? 0),
      ceiling.reconciledKeys,
    );
    if (gaps > 0)
      notes.push(
        `Capture detected ${gaps} notification gap(s) and re-captured ${reconciled} keys by reconciliation during ` +
          'the measured windows: those reads and events are part of the figures above.',
      );

    return {
      bench: 'capture',
      schemaVersion: 1,
      command: opts.command,
      startedAt,
      finishedAt: new Date().toISOString(),
      host: { ...host, node: process.version, redis: redisVersion, kafka: KAFKA_VERSION },
      settings: {
        durationS: opts.durationS,
        warmupS,
        leadInS,
        clients: opts.clients,
        keys: opts.keys,
        valueBytes: opts.valueBytes,
        ...(opts.rate ? { rate: opts.rate } : {}),
        pairs: opts.pairs,
        burstKeys: opts.burstKeys,
        captureMode: bench.captureMode,
        ...bench.captureBuild(),
        captureBatchSize: bench.captureBatchSize,
        floorPhases: opts.floor,
        notifyFlags: opts.notifyFlags,
        topic,
        partitions,
        readFrom: opts.readFrom,
        ...(opts.pinPrimary ? { pinPrimary: true } : {}),
      },
      stack: { stateDir: up.stateDir, reused: up.reused },
      writer: {
        phases,
        pairs,
        ...figures,
        target: WRITER_RATIO_TARGET,
        pass: figures.medianRatio >= WRITER_RATIO_TARGET,
        ...(replica
          ? {
              capacityTarget: PRIMARY_CAPACITY_TARGET,
              capacityPass: (figures.medianRedisCapacityRatio ?? 0) >= PRIMARY_CAPACITY_TARGET,
            }
          : {}),
      },
      ceiling,
      loss,
      reportFile: opts.reportFile,
      notes,
    };
  } finally {
    if (res.capture) {
      await res.capture.stop().catch(() => res.capture?.kill());
      res.capture = undefined;
    }
    if (res.subscriber) {
      await res.subscriber.stop().catch(() => res.subscriber?.kill());
      res.subscriber = undefined;
    }
    if (up.reused && bench) await bench.cleanUpData().catch(() => undefined);
    if (originalNotify !== undefined && redis.status === 'ready')
      await redis.config('SET', 'notify-keyspace-events', originalNotify).catch(() => undefined);
    if (replicaAdmin?.status === 'ready')
      await replicaAdmin.config('SET', 'notify-keyspace-events', 'KEA').catch(() => undefined);
    for (const c of [redis, ...writers, ...(replicaAdmin ? [replicaAdmin] : [])]) c.disconnect();
    await admin.disconnect().catch(() => undefined);
    await benchStackDown(progress, res);
  }
}
