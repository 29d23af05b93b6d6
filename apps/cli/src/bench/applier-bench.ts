import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { statSync } from 'node:fs';
import { relative } from 'node:path';
import { DeleteTableCommand, type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { assignEnv, localAwsDefaults } from '@cdc/config';
import { ChangeEventCodec } from '@cdc/contracts';
import { createDynamoClient, ensureTable } from '@cdc/dynamo';
import {
  type Admin,
  BatchPublisher,
  createKafka,
  ensureChangeTopics,
  type Kafka,
  type Message,
  orderedProducer,
  type Producer,
} from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { eventToItem, keyToPk } from '@cdc/parity';
import { createRedisClient, REQUIRED_EVENT_CLASSES } from '@cdc/redis';
import { KAFKA_VERSION, startPrivateDynamo } from '@cdc/stack';
import type Redis from 'ioredis';
import {
  type CommitSample,
  checkFinalState,
  drainRate,
  dynamoWrites,
  lagFigures,
  outcomesDelta,
  pairRatios,
  quantilesOf,
  writesPerEvent,
} from './applier-figures';
import { runPacedWriter, scanItems } from './applier-lag';
import {
  APPLIER_TARGETS,
  type ApplierBenchReport,
  applierVerdicts,
  type DrainPhase,
  type LagResult,
  type RawPhase,
  type ZipfResult,
} from './applier-report';
import {
  type ChildApplier,
  committedSum,
  findApplierMain,
  startChildApplier,
  watchCommits,
} from './applier-runner';
import { lastIndexByKey, paddedValue, stringSetEvent, zipfSequence } from './applier-workload';
import { type CaptureRunner, findCaptureMain, startChildCapture } from './capture-runner';
import { CpuMeter } from './cpu';
import { benchStackDown, benchStackUp } from './bench-stack';
import type { Progress } from './progress';
import { formatCount, formatRate, median, ratePerSecond } from './stats';
import { sumEndOffsets } from './topic';

export interface ApplierBenchOptions {
  /** Events per raw and applier phase, and of the zipf phase. */
  readonly events: number;
  readonly concurrency: number;
  readonly pairs: number;
  readonly zipfKeys: number;
  readonly zipfS: number;
  /** Seconds of the lag phase. */
  readonly durationS: number;
  readonly valueBytes: number;
  readonly keepStack: boolean;
  readonly command: string;
  readonly reportFile: string;
  /** Prefix of the applier's and capture's log files. */
  readonly logPrefix: string;
}

/** Lets the command stop what this run started when it is interrupted (Ctrl-C). */
export interface ApplierBenchResources {
  readonly children: Set<{ kill(): void }>;
  stackToStop?: string;
}

const PARTITIONS = 6;
/** DynamoDB Local's JIT needs ~5k requests (fewer for a smoke run with fewer events: its figures mean little). */
const WARMUP_PUTS = 5_000;
/** No commit for this long (or three partitions' worth of events at the raw rate, if longer): the drain failed. */
const STALL_MS = 120_000;
const SIGNATURE = 'cdc-bench';
const TOMBSTONE_TTL_S = 7 * 86_400;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

class ApplierBench {
  private readonly runId = randomBytes(3).toString('hex');
  private readonly codec = new ChangeEventCodec();
  private readonly topics: string[] = [];
  /**
   * One table for every phase (each writes its own keys): DynamoDB Local slows down as stream tables come and
   * go (docs/architecture.md), so one table per phase would tilt later phases against earlier ones.
   */
  readonly table = `cdc_bench_${this.runId}`;
  /** A run-wide counter: every key's versions increase in produce order, across phases. */
  private version = BigInt(Date.now()) * 1000n;

  constructor(
    private readonly opts: ApplierBenchOptions,
    private readonly progress: Progress,
    private readonly res: ApplierBenchResources,
    private readonly env: {
      readonly kafka: Kafka;
      readonly admin: Admin;
      readonly producer: Producer;
      readonly dynamo: DynamoDBClient;
      readonly redis: Redis;
      readonly redisUrl: string;
      readonly kafkaBrokers: string;
      readonly dynamodbEndpoint: string;
      readonly enginePids: Readonly<Record<string, number | undefined>>;
      readonly applierMain: string;
      readonly captureMain: string;
    },
  ) {}

  private name(phase: string): { source: string; topic: string; table: string; group: string } {
    const source = `bench-${this.runId}-${phase.toLowerCase()}`;
    return {
      source,
      topic: `cdc.${source}.changes`,
      table: this.table,
      group: `cdc-applier.${source}`,
    };
  }

  private event(key: string, value: string) {
    return stringSetEvent(`bench-${this.runId}`, key, value, ++this.version, Date.now());
  }

  private cpuMeter(extra: Record<string, number | undefined> = {}): CpuMeter {
    return new CpuMeter({ ...this.env.enginePids, ...extra });
  }

  /** The run's table, created like the applier creates it (stream on, TTL), before anything is timed. */
  async createTable(): Promise<void> {
    await ensureTable(this.env.dynamo, this.table, true);
  }

  private async createTopic(topic: string): Promise<void> {
    this.topics.push(topic);
    await ensureChangeTopics(this.env.kafka, {
      topic,
      dlqTopic: `${topic}.dlq`,
      topicPartitions: PARTITIONS,
      topicReplicationFactor: -1,
    });
  }

  /** Unconditional PutItem of `count` items shaped like the applier's, `concurrency` in flight. */
  private async rawPuts(
    table: string,
    prefix: string,
    count: number,
    onPut?: (ms: number) => void,
    dynamo: DynamoDBClient = this.env.dynamo,
  ) {
    let next = 0;
    const worker = async () => {
      while (next < count) {
        const i = next++;
        const event = this.event(`${prefix}${i}`, paddedValue(i, this.opts.valueBytes));
        const t0 = performance.now();
        const item = eventToItem(event, {
          writer: SIGNATURE,
          appliedAt: Date.now(),
          tombstoneTtlSeconds: TOMBSTONE_TTL_S,
        });
        await dynamo.send(new PutItemCommand({ TableName: table, Item: item }));
        onPut?.(performance.now() - t0);
      }
    };
    await Promise.all(Array.from({ length: this.opts.concurrency }, worker));
  }

  get warmup(): number {
    return Math.min(WARMUP_PUTS, this.opts.events);
  }

  async warmUp(): Promise<void> {
    const { table } = this.name('warm');
    const bar = this.progress.bar('warm-up', this.warmup, 'puts');
    let done = 0;
    await this.rawPuts(table, `bench:${this.runId}:w:`, this.warmup, () => bar.update(++done));
    bar.stop();
  }

  get leadIn(): number {
    return Math.min(1_000, Math.ceil(this.opts.events / 10));
  }

  async rawPhase(name: string): Promise<RawPhase> {
    const { table } = this.name(name);
    const prefix = `bench:${this.runId}:${name}:`;
    await this.rawPuts(table, `${prefix}lead:`, this.leadIn);
    const n = this.opts.events;
    const bar = this.progress.bar(`${name} raw`, n, 'puts');
    const latencies: number[] = [];
    const meter = this.cpuMeter();
    const t0 = performance.now();
    await this.rawPuts(table, prefix, n, (ms) => {
      latencies.push(ms);
      if (latencies.length % 100 === 0) bar.update(latencies.length);
    });
    const elapsedMs = performance.now() - t0;
    const cpu = meter.stop();
    bar.stop();
    const { p50Ms, p99Ms } = quantilesOf(latencies);
    const phase: RawPhase = {
      name,
      leadIn: this.leadIn,
      items: n,
      elapsedMs: Math.round(elapsedMs),
      itemsPerS: ratePerSecond(n, elapsedMs),
      ...(p50Ms !== undefined ? { latencyP50Ms: p50Ms } : {}),
      ...(p99Ms !== undefined ? { latencyP99Ms: p99Ms } : {}),
      cpu,
    };
    this.progress.line(`  ${name}: raw PutItem ${formatRate(phase.itemsPerS)}`);
    return phase;
  }

  /** Produces change events (key, value) in order, acks=all, through the same partitioner as capture. */
  private async produce(topic: string, count: number, entry: (i: number) => [key: string, value: string]) {
    const publisher = new BatchPublisher(this.env.producer, topic, 1_000);
    const bar = this.progress.bar('produce', count, 'events');
    const sends: Array<Promise<void>> = [];
    for (let from = 0; from < count; from += 500) {
      const messages: Message[] = [];
      for (let i = from; i < Math.min(from + 500, count); i++) {
        const [key, value] = entry(i);
        messages.push({ key: Buffer.from(key), value: this.codec.encode(this.event(key, value)) });
      }
      sends.push(publisher.publish(messages).then(() => bar.update(Math.min(from + 500, count))));
    }
    await Promise.all(sends);
    bar.stop();
  }

  private async startApplier(
    phase: string,
    dynamodbEndpoint = this.env.dynamodbEndpoint,
  ): Promise<ChildApplier> {
    const n = this.name(phase);
    const applier = await startChildApplier(
      this.env.applierMain,
      {
        kafkaBrokers: this.env.kafkaBrokers,
        dynamodbEndpoint,
        sourceId: n.source,
        topic: n.topic,
        table: n.table,
        group: n.group,
        partitions: PARTITIONS,
        concurrency: this.opts.concurrency,
      },
      `${this.opts.logPrefix}.applier.log`,
    );
    this.res.children.add(applier);
    return applier;
  }

  private async stopChild(child: { stop(): Promise<void>; kill(): void }): Promise<void> {
    await child.stop();
    this.res.children.delete(child);
  }

  /** Starts a fresh applier on a topic already holding `events` and times its drain (see drainRate). */
  private async drain(phase: string, events: number, rawPerS: number): Promise<DrainPhase> {
    const perPartitionMs = (events / PARTITIONS / Math.max(1, rawPerS)) * 1000;
    const n = this.name(phase);
    const applier = await this.startApplier(phase);
    try {
      const readyAt = performance.now();
      const before = await applier.outcomes();
      const bar = this.progress.bar(`${phase} drain`, events, 'events');
      let meter: CpuMeter | undefined;
      const watched = await watchCommits(
        this.env.admin,
        applier,
        { groupId: n.group, topic: n.topic, total: events },
        {
          stallMs: Math.max(STALL_MS, Math.round(3 * perPartitionMs)),
          onProgress: (committed) => {
            meter ??= this.cpuMeter({ applier: applier.pid }); // CPU over the rate's window only
            bar.update(committed);
          },
        },
      );
      const cpu = meter?.stop() ?? {};
      bar.stop();
      const drain = drainRate(watched.samples);
      const first: CommitSample | undefined = watched.samples[0];
      const outcomes = outcomesDelta(await applier.outcomes(), before);
      return {
        name: phase,
        events,
        complete: watched.complete,
        drain,
        ...(first ? { firstCommitMs: Math.round(first.atMs - readyAt) } : {}),
        outcomes,
        cpu,
        ...(cpu.applier !== undefined && drain.windowEvents > 0
          ? { applierCpuUsPerEvent: Math.round((cpu.applier * drain.windowMs * 1000) / drain.windowEvents) }
          : {}),
      };
    } finally {
      await this.stopChild(applier);
    }
  }

  /** `rawPerS`: the raw rate just measured, to size the stall timeout. */
  async applierPhase(name: string, rawPerS: number): Promise<DrainPhase> {
    const { topic } = this.name(name);
    await this.createTopic(topic);
    const prefix = `bench:${this.runId}:${name}:`;
    await this.produce(topic, this.opts.events, (i) => [
      `${prefix}${i}`,
      paddedValue(i, this.opts.valueBytes),
    ]);
    const phase = await this.drain(name, this.opts.events, rawPerS);
    this.progress.line(
      `  ${name}: applier ${formatRate(phase.drain.eventsPerS)} (${formatCount(phase.drain.windowEvents)} events ` +
        `between the first and the last of ${phase.drain.commits} commits)${phase.complete ? '' : ' INCOMPLETE'}`,
    );
    return phase;
  }

  async zipfPhase(rawCeilingPerS: number): Promise<ZipfResult> {
    const o = this.opts;
    const { topic, table } = this.name('z');
    await this.createTopic(topic);
    const ranks = zipfSequence(o.events, o.zipfKeys, o.zipfS, 0x5eed);
    const prefix = `bench:${this.runId}:z:`;
    const key = (rank: number) => `${prefix}${rank}`;
    const firstVersion = this.version + 1n; // event i gets firstVersion + i (produce assigns them in order)
    this.progress.line(
      `zipf: ${formatCount(o.events)} events, s=${o.zipfS} over ${formatCount(o.zipfKeys)} keys`,
    );
    await this.produce(topic, o.events, (i) => [key(ranks[i] as number), paddedValue(i, o.valueBytes)]);
    const phase = await this.drain('z', o.events, rawCeilingPerS);
    const expected = new Map<string, readonly [string, string]>();
    for (const [rank, i] of lastIndexByKey(ranks))
      expected.set(keyToPk(Buffer.from(key(rank))), [
        (firstVersion + BigInt(i)).toString(),
        paddedValue(i, o.valueBytes),
      ]);
    const items = await scanItems(this.env.dynamo, table, keyToPk(Buffer.from(prefix)));
    const check = checkFinalState(expected, items);
    const perEvent = writesPerEvent(phase.outcomes, o.events);
    const result: ZipfResult = {
      keys: o.zipfKeys,
      s: o.zipfS,
      distinctKeys: expected.size,
      phase,
      writes: dynamoWrites(phase.outcomes),
      writesPerEvent: perEvent,
      ceilingRatio: phase.drain.eventsPerS / rawCeilingPerS,
      check,
    };
    this.progress.line(
      `  ${formatRate(phase.drain.eventsPerS)} source events, ${perEvent.toFixed(3)} writes per event; ` +
        `final state ${check.wrong} wrong, ${check.extra} extra of ${formatCount(check.keysExpected)} keys`,
    );
    return result;
  }

  private async startCapture(): Promise<CaptureRunner> {
    const n = this.name('lag');
    const capture = await startChildCapture(
      this.env.captureMain,
      {
        redisUrl: this.env.redisUrl,
        kafkaBrokers: this.env.kafkaBrokers,
        sourceId: n.source,
        topic: n.topic,
        partitions: PARTITIONS,
        batchSize: 500,
      },
      `${this.opts.logPrefix}.capture.log`,
    );
    this.res.children.add(capture);
    return capture;
  }

  /** Capture and applier running, an open-loop writer at half the applier ceiling; lag from every item. */
  async lagPhase(applierCeilingPerS: number): Promise<LagResult> {
    const n = this.name('lag');
    await this.createTopic(n.topic);
    await this.env.redis.config('SET', 'notify-keyspace-events', REQUIRED_EVENT_CLASSES);
    const ratePerS = Math.max(1, Math.round(applierCeilingPerS / 2));
    const leadInS = Math.min(5, Math.max(2, Math.round(this.opts.durationS / 5)));
    // Its own DynamoDB Local, warmed like the stack's was: by now the stack's holds every earlier phase's items
    // and stream records, and DynamoDB Local slows down as they accumulate (docs/architecture.md, engine facts).
    this.progress.line(`lag: a fresh DynamoDB Local, warmed with ${formatCount(this.warmup)} puts`);
    const dynamo = await startPrivateDynamo({ fastStart: false, fileBacked: false });
    this.res.children.add(dynamo);
    const client = createDynamoClient({
      endpoint: dynamo.endpoint,
      region: process.env.AWS_REGION ?? 'us-east-1',
    });
    let capture: CaptureRunner | undefined;
    let applier: ChildApplier | undefined;
    try {
      await ensureTable(client, n.table, true);
      await this.rawPuts(n.table, `bench:${this.runId}:lag-warm:`, this.warmup, undefined, client);
      capture = await this.startCapture();
      applier = await this.startApplier('lag', dynamo.endpoint);
      const writer = { ratePerS, valueBytes: this.opts.valueBytes };
      this.progress.line(
        `lag: capture + applier running; writer at ${formatRate(ratePerS)} (half of ${formatRate(applierCeilingPerS)}), ` +
          `${leadInS} s lead-in then ${this.opts.durationS} s measured`,
      );
      const lead = await runPacedWriter(this.env.redis, {
        ...writer,
        durationMs: leadInS * 1000,
        keyPrefix: `bench:${this.runId}:lag-lead:`,
      });
      // Lead-in fully applied first, so the counters below cover the measured writes only.
      await this.settle(capture, applier, lead.writes, n);
      const capBefore = await capture.snapshot();
      const outBefore = await applier.outcomes();
      const prefix = `bench:${this.runId}:lag:`;
      const bar = this.progress.bar('lag', this.opts.durationS, 's');
      const meter = this.cpuMeter({ dynamodb: dynamo.pid, capture: capture.pid, applier: applier.pid });
      const written = await runPacedWriter(this.env.redis, {
        ...writer,
        durationMs: this.opts.durationS * 1000,
        keyPrefix: prefix,
        onProgress: (_w, ms) => bar.update(ms / 1000),
      });
      const cpu = meter.stop();
      bar.stop();
      const drainMs = await this.settle(capture, applier, capBefore.notifications + written.writes, n);
      const capAfter = await capture.snapshot();
      const outcomes = outcomesDelta(await applier.outcomes(), outBefore);
      const items = await scanItems(client, n.table, keyToPk(Buffer.from(prefix)));
      const lag = lagFigures(items);
      const captureEvents = capAfter.events - capBefore.events;
      const result: LagResult = {
        targetPerS: ratePerS,
        offeredPerS: ratePerSecond(written.writes, written.elapsedMs),
        leadInS,
        durationS: this.opts.durationS,
        writes: written.writes,
        items: items.length,
        missing: Math.max(0, written.writes - items.length),
        lag,
        drainMs,
        captureEvents,
        outcomes,
        writesPerEvent: writesPerEvent(outcomes, captureEvents),
        cpu,
      };
      this.progress.line(
        `  ${formatCount(written.writes)} writes (+${formatCount(lead.writes)} lead-in), ${formatCount(result.missing)} missing; ` +
          `end-to-end p50 ${lag.endToEnd.p50Ms ?? 'n/a'} ms, p99 ${lag.endToEnd.p99Ms ?? 'n/a'} ms`,
      );
      return result;
    } finally {
      try {
        if (applier) await this.stopChild(applier);
        if (capture) await this.stopChild(capture);
        await this.env.redis.config('SET', 'notify-keyspace-events', '');
      } finally {
        client.destroy();
        await this.stopChild(dynamo);
      }
    }
  }

  /**
   * Waits until capture took every notification (nothing pending) and the applier committed everything capture
   * produced; returns how long that took.
   */
  private async settle(
    capture: CaptureRunner,
    applier: ChildApplier,
    notifications: number,
    n: { topic: string; group: string },
  ): Promise<number> {
    const t0 = performance.now();
    const deadline = t0 + STALL_MS * 2;
    while (performance.now() < deadline) {
      applier.assertRunning();
      const snap = await capture.snapshot();
      if (snap.notifications >= notifications && snap.pending === 0) {
        const end = await sumEndOffsets(this.env.admin, n.topic);
        if ((await committedSum(this.env.admin, n.group, n.topic)) >= end)
          return Math.round(performance.now() - t0);
      }
      await sleep(50);
    }
    throw new Error(`lag phase: capture and the applier did not catch up within ${(STALL_MS * 2) / 1000} s`);
  }

  build(): { applierMain: string; applierBuiltAt: string; captureMain: string } {
    return {
      applierMain: relative(process.cwd(), this.env.applierMain),
      applierBuiltAt: statSync(this.env.applierMain).mtime.toISOString(),
      captureMain: relative(process.cwd(), this.env.captureMain),
    };
  }

  /** For a stack that stays up: leave no bench tables, topics or keys behind. */
  async cleanUp(): Promise<void> {
    await this.env.dynamo.send(new DeleteTableCommand({ TableName: this.table })).catch(() => undefined);
    const topics = this.topics.flatMap((t) => [t, `${t}.dlq`]);
    await this.env.admin.deleteTopics({ topics }).catch(() => undefined);
    let cursor = '0';
    do {
      const [next, keys] = await this.env.redis.scan(cursor, 'MATCH', `bench:${this.runId}:*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await this.env.redis.unlink(...keys);
    } while (cursor !== '0');
  }
}

function requireBuild(): { applierMain: string; captureMain: string } {
  const applierMain = findApplierMain();
  const captureMain = findCaptureMain();
  if (!applierMain || !captureMain)
    throw new Error(
      `${applierMain ? '' : 'dist/apps/applier/main.js '}${captureMain ? '' : 'dist/apps/capture/main.js '}` +
        'not found: the benchmark runs the deployables; build them first with `node scripts/build.mjs`',
    );
  return { applierMain, captureMain };
}

export async function runApplierBench(
  opts: ApplierBenchOptions,
  progress: Progress,
  res: ApplierBenchResources,
): Promise<ApplierBenchReport> {
  const startedAt = new Date().toISOString();
  const build = requireBuild();
  const up = await benchStackUp(progress, res, opts.keepStack);
  const { redisUrl, kafkaBrokers, dynamodbEndpoint } = up.endpoints;
  // DynamoDB Local takes any credentials made of letters and digits; real ones are left alone.
  assignEnv(localAwsDefaults());
  const region = process.env.AWS_REGION ?? 'us-east-1';
  // kafkajs logs transient, retried errors at ERROR: real failures surface as exceptions, so only fatal lines.
  const logger = createLogger('fatal', 'cdc-bench', process.stderr);
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'cdc-bench', ssl: false }, logger);
  const admin = kafka.admin();
  const producer = orderedProducer(kafka);
  const dynamo = createDynamoClient({ endpoint: dynamodbEndpoint, region });
  const redis = createRedisClient({ url: redisUrl, db: 0 }, 'cdc-bench-admin');
  let bench: ApplierBench | undefined;
  let originalNotify: string | undefined;
  try {
    await Promise.all([admin.connect(), producer.connect(), redis.connect()]);
    [, originalNotify = ''] = (await redis.config('GET', 'notify-keyspace-events')) as string[];
    const enginePids = Object.fromEntries(up.engines.map((e) => [e.name, e.pid]));
    bench = new ApplierBench(opts, progress, res, {
      kafka,
      admin,
      producer,
      dynamo,
      redis,
      redisUrl,
      kafkaBrokers,
      dynamodbEndpoint,
      enginePids,
      ...build,
    });
    await bench.createTable();
    progress.line(`warm-up: ${formatCount(bench.warmup)} raw puts (DynamoDB Local's JIT)`);
    await bench.warmUp();
    const raw: RawPhase[] = [];
    const applier: DrainPhase[] = [];
    for (let i = 1; i <= opts.pairs; i++) {
      progress.line(`pair ${i}: raw PutItem, then the applier (${formatCount(opts.events)} events each)`);
      const r = await bench.rawPhase(`R${i}`);
      raw.push(r);
      applier.push(await bench.applierPhase(`A${i}`, r.itemsPerS));
    }
    const ratios = pairRatios(
      raw.map((r, i) => ({ a: applier[i]?.drain.eventsPerS ?? Number.NaN, b: r.itemsPerS })),
    );
    const pairs = raw.map((r, i) => ({
      pair: i + 1,
      rawPerS: r.itemsPerS,
      applierPerS: applier[i]?.drain.eventsPerS ?? Number.NaN,
      ratio: ratios.ratios[i] ?? Number.NaN,
    }));
    const rawCeilingPerS = median(raw.map((r) => r.itemsPerS));
    const measured = applier.map((a) => a.drain.eventsPerS).filter(Number.isFinite);
    // Without a measured applier rate (too few events for two commits), half the raw ceiling stands in.
    const applierCeilingPerS = measured.length > 0 ? median(measured) : rawCeilingPerS;
    const zipf = await bench.zipfPhase(rawCeilingPerS);
    const lag = await bench.lagPhase(applierCeilingPerS);

    const host = { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown' };
    const notes = applierNotes(host.cpus, raw, applier, zipf, lag, measured.length < applier.length);
    if (up.reused)
      notes.push(
        'The bench stack was already running: DynamoDB Local slows down over its life, most on tables with a ' +
          'stream (docs/architecture.md), so absolute figures may be low; ratios within the run still hold.',
      );
    const partial = { medianRatio: ratios.median, zipf, lag, applier };
    return {
      bench: 'applier',
      schemaVersion: 1,
      command: opts.command,
      startedAt,
      finishedAt: new Date().toISOString(),
      host: { ...host, node: process.version, kafka: KAFKA_VERSION },
      settings: {
        events: opts.events,
        warmup: bench.warmup,
        leadIn: bench.leadIn,
        concurrency: opts.concurrency,
        pairs: opts.pairs,
        zipfKeys: opts.zipfKeys,
        zipfS: opts.zipfS,
        durationS: opts.durationS,
        valueBytes: opts.valueBytes,
        partitions: PARTITIONS,
        ...bench.build(),
      },
      stack: { stateDir: up.stateDir, reused: up.reused, kept: up.reused || opts.keepStack },
      raw,
      applier,
      pairs,
      medianRatio: ratios.median,
      rawCeilingPerS,
      applierCeilingPerS,
      zipf,
      lag,
      targets: APPLIER_TARGETS,
      verdicts: applierVerdicts(partial),
      reportFile: opts.reportFile,
      notes,
    };
  } finally {
    for (const child of res.children) child.kill();
    res.children.clear();
    if (!res.stackToStop && bench) await bench.cleanUp().catch(() => undefined);
    if (originalNotify !== undefined && redis.status === 'ready')
      await redis.config('SET', 'notify-keyspace-events', originalNotify).catch(() => undefined);
    redis.disconnect();
    dynamo.destroy();
    await producer.disconnect().catch(() => undefined);
    await admin.disconnect().catch(() => undefined);
    await benchStackDown(progress, res);
  }
}

function applierNotes(
  cores: number,
  raw: readonly RawPhase[],
  applier: readonly DrainPhase[],
  zipf: ZipfResult,
  lag: LagResult,
  unmeasured: boolean,
): string[] {
  const notes: string[] = [];
  if (cores <= 4)
    notes.push(
      `${cores} cores are shared by Kafka, DynamoDB Local, Redis and the processes under test: in raw phases ` +
        'the benchmark process is the only client; in applier phases the applier also consumes from Kafka and ' +
        'decodes, on the same cores as DynamoDB Local, so the ratio includes that contention.',
    );
  const otherMax = Math.max(0, ...[...raw, ...applier].map((p) => p.cpu.other ?? 0), lag.cpu.other ?? 0);
  if (otherMax >= 0.2)
    notes.push(
      `Work outside this benchmark used up to ${otherMax.toFixed(2)} cores during the measured windows (the ` +
        '"other" CPU figures): the box was not quiet, which lowers absolute figures on both sides.',
    );
  if (unmeasured)
    notes.push(
      'At least one applier phase committed fewer than two times, so it has no rate: run with more --events.',
    );
  if (!zipf.phase.complete || applier.some((a) => !a.complete))
    notes.push(
      'At least one drain did not commit every event before the stall timeout (see the JSON report).',
    );
  if (lag.lag.skipped > 0) notes.push(`${lag.lag.skipped} lag items had no readable write time.`);
  return notes;
}
