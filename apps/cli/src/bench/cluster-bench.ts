import { randomBytes } from 'node:crypto';
import { cpus } from 'node:os';
import { relative } from 'node:path';
import { createKafka, ensureChangeTopics } from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { KAFKA_VERSION } from '@cdc/stack';
import Redis, { type Cluster } from 'ioredis';
import { benchStackDown, benchStackUp } from './bench-stack';
import type { BenchResources } from './capture-bench';
import {
  type CaptureRunner,
  fenceCapture,
  findCaptureMain,
  startChildCapture,
  startInProcessCapture,
} from './capture-runner';
import {
  type ClusterBenchReport,
  clusterMedians,
  clusterPair,
  type ClusterPhase,
  primariesUsPerWrite,
} from './cluster-report';
import { type CpuShares, CpuMeter } from './cpu';
import type { Progress } from './progress';
import { formatCount, formatRate, ratePerSecond } from './stats';
import { sumEndOffsets, topicLoss, waitForEndOffsets } from './topic';
import { runClosedLoopWriter } from './writer';

export interface ClusterBenchOptions {
  readonly durationS: number;
  readonly clients: number;
  readonly keys: number;
  readonly rate?: number;
  readonly pairs: number;
  readonly burstKeys: number;
  readonly valueBytes: number;
  readonly captureBatchSize: number;
  readonly notifyFlags: string;
  readonly readFrom: 'primary' | 'replica';
  readonly inProcess: boolean;
  readonly command: string;
  readonly reportFile: string;
  readonly captureLog: string;
}

const PARTITIONS = 6;
/** Burst keys are hash-tagged over this many slots, so MSET can write them (one slot per command). */
const BURST_TAGS = 512;

interface Node {
  readonly port: number;
  readonly pid: number | undefined;
  readonly role: 'primary' | 'replica';
  readonly admin: Redis;
}

/**
 * `cdc bench capture --redis cluster`: the local cluster of `cdc stack up --redis cluster`, cluster clients
 * writing over every slot, phases alternating A (notifications off everywhere, nothing listening) and B
 * (capture running, one subscriber per shard), the primaries' CPU per write, capture's ceiling on a burst,
 * and zero loss read back from the topic.
 */
export async function runClusterCaptureBench(
  opts: ClusterBenchOptions,
  progress: Progress,
  res: BenchResources,
): Promise<ClusterBenchReport> {
  const startedAt = new Date().toISOString();
  const up = await benchStackUp(progress, res, false, 'cluster');
  const { kafkaBrokers, redisClusterNodes } = up.endpoints;
  if (!redisClusterNodes) throw new Error('the bench stack did not start a Redis Cluster');
  const seeds = redisClusterNodes.split(',');
  const runId = randomBytes(3).toString('hex');
  const writerPrefix = `bench:${runId}:k:`;
  const burstPrefix = `bench:${runId}:b:`;
  const topic = `cdc.bench-${runId}.changes`;
  const logger = createLogger('fatal', 'cdc-bench', process.stderr);
  const kafka = createKafka({ brokers: kafkaBrokers.split(','), clientId: 'cdc-bench', ssl: false }, logger);
  const admin = kafka.admin();
  const startupNodes = seeds.map((s) => ({ host: '127.0.0.1', port: Number(s.split(':')[1]) }));
  const newCluster = () => new Redis.Cluster(startupNodes, { redisOptions: { enableAutoPipelining: false } });
  const cluster = newCluster();
  const writers = Array.from({ length: opts.clients }, newCluster);
  const pidOf = new Map(up.engines.map((e) => [e.port, e.pid]));
  const nodes: Node[] = [];
  const expected = new Map<string, string>();
  const captureMain = opts.inProcess ? undefined : findCaptureMain();
  let starts = 0;
  try {
    await admin.connect();
    await Promise.all([cluster, ...writers].map((c) => waitReady(c)));
    const rows = ((await cluster.call('CLUSTER', 'NODES')) as string).trim().split('\n');
    for (const row of rows) {
      const [, addr = '', flags = ''] = row.split(' ');
      const port = Number(addr.split('@')[0]?.split(':')[1]);
      const node = new Redis({ host: '127.0.0.1', port, lazyConnect: true });
      await node.connect();
      nodes.push({
        port,
        pid: pidOf.get(port),
        role: flags.includes('master') ? 'primary' : 'replica',
        admin: node,
      });
    }
    const redisVersion =
      /redis_version:(\S+)/.exec(await (nodes[0] as Node).admin.info('server'))?.[1] ?? '?';
    await ensureChangeTopics(kafka, {
      topic,
      dlqTopic: `${topic}.dlq`,
      topicPartitions: PARTITIONS,
      topicReplicationFactor: -1,
    });

    // On where capture listens (the primaries, or with --read-from replica the replicas), off everywhere else.
    const listening = opts.readFrom === 'replica' ? 'replica' : 'primary';
    const notifications = (on: boolean) =>
      Promise.all(
        nodes.map((n) =>
          n.admin.config('SET', 'notify-keyspace-events', on && n.role === listening ? opts.notifyFlags : ''),
        ),
      );
    const meter = (runner?: CaptureRunner) =>
      new CpuMeter({
        ...Object.fromEntries(nodes.map((n) => [`${n.role}:${n.port}`, n.pid])),
        ...Object.fromEntries(
          up.engines.filter((e) => !e.name.startsWith('redis')).map((e) => [e.name, e.pid]),
        ),
        ...(runner?.pid ? { capture: runner.pid } : {}),
      });
    const startCapture = async (): Promise<CaptureRunner> => {
      const target = {
        redisUrl: `redis://${seeds.join(',')}`,
        ...(opts.readFrom === 'replica' ? { readFrom: 'replica' as const } : {}),
        kafkaBrokers,
        sourceId: `bench-${runId}-${++starts}`,
        topic,
        partitions: PARTITIONS,
        batchSize: opts.captureBatchSize,
      };
      const runner = captureMain
        ? await startChildCapture(captureMain, target, opts.captureLog)
        : await startInProcessCapture(target);
      res.capture = runner;
      return runner;
    };
    const stopCapture = async (runner: CaptureRunner) => {
      await runner.stop();
      res.capture = undefined;
    };
    const leadInS = Math.min(2, Math.max(1, Math.round(opts.durationS / 5)));
    const writer = {
      keys: opts.keys,
      keyPrefix: writerPrefix,
      valueBytes: opts.valueBytes,
      ...(opts.rate ? { rate: opts.rate } : {}),
    };
    const phase = async (
      name: string,
      capture: boolean,
      durationS: number,
      lead: number,
    ): Promise<ClusterPhase> => {
      await notifications(capture);
      const runner = capture ? await startCapture() : undefined;
      try {
        progress.line(
          `${name}: ${capture ? 'capture running' : 'notifications off, nothing listening'}; ${lead} s lead-in, then ${durationS} s measured`,
        );
        const w = writers as unknown as Redis[];
        const leadIn =
          lead > 0 ? await runClosedLoopWriter(w, { ...writer, durationMs: lead * 1000 }) : undefined;
        const before = await runner?.snapshot();
        const m = meter(runner);
        const result = await runClosedLoopWriter(w, { ...writer, durationMs: durationS * 1000 });
        const cpu = grouped(m.stop());
        let captureStats: ClusterPhase['captureStats'];
        if (runner && before) {
          const { snap, ms, ok } = await fenceCapture(runner, (leadIn?.writes ?? 0) + result.writes);
          captureStats = {
            notifications: snap.notifications - before.notifications,
            coalesced: snap.coalesced - before.coalesced,
            events: snap.events - before.events,
            drainMs: Math.round(ms),
            fenced: ok,
            gaps: snap.gaps - before.gaps,
          };
          for (const [k, v] of [...(leadIn?.finalValues ?? []), ...result.finalValues]) expected.set(k, v);
        }
        const out: ClusterPhase = {
          name,
          capture,
          writes: result.writes,
          elapsedMs: Math.round(result.elapsedMs),
          writesPerS: ratePerSecond(result.writes, result.elapsedMs),
          latencyP50Ms: result.latency.quantile(0.5),
          latencyP99Ms: result.latency.quantile(0.99),
          cpu,
          ...withUs(cpu, result),
          ...(captureStats ? { captureStats } : {}),
        };
        progress.line(
          `  ${formatRate(out.writesPerS)} writes; primaries ${out.primariesUsPerWrite ?? '?'} µs/write` +
            (captureStats
              ? `; capture: ${formatCount(captureStats.events)} events, drained ${captureStats.drainMs} ms${captureStats.fenced ? '' : ' (NOT all notifications arrived)'}`
              : ''),
        );
        return out;
      } finally {
        if (runner) await stopCapture(runner);
      }
    };

    await phase('warm-up', true, Math.min(5, Math.max(2, Math.round(opts.durationS / 2))), 0);
    const phases: ClusterPhase[] = [];
    const pairs = [];
    for (let i = 1; i <= opts.pairs; i++) {
      const a = await phase(`A${i}`, false, opts.durationS, leadInS);
      const b = await phase(`B${i}`, true, opts.durationS, leadInS);
      phases.push(a, b);
      pairs.push(clusterPair(i, a, b));
    }

    // Ceiling: keys pre-loaded with notifications off, then each touched once while capture runs idle.
    const burstKey = (i: number) => `${burstPrefix}{${i % BURST_TAGS}}:${i}`;
    progress.line(`ceiling: pre-loading ${formatCount(opts.burstKeys)} keys with notifications off`);
    await notifications(false);
    await burst(cluster, opts.burstKeys, burstKey, (i) => `p:${i}`);
    await notifications(true);
    const runner = await startCapture();
    let ceiling: ClusterBenchReport['ceiling'];
    try {
      const base = await sumEndOffsets(admin, topic);
      progress.line(`ceiling: burst over ${formatCount(opts.burstKeys)} keys, capture idle before it`);
      const m = meter(runner);
      const t0 = performance.now();
      const [writeMs, reached] = await Promise.all([
        burst(cluster, opts.burstKeys, burstKey, (i) => `b:${i}`),
        waitForEndOffsets(admin, topic, base + opts.burstKeys, {
          timeoutMs: Math.max(120_000, opts.burstKeys),
        }),
      ]);
      const cpu = grouped(m.stop());
      const captureMs = (reached.at ?? performance.now()) - t0;
      ceiling = {
        keys: opts.burstKeys,
        writesPerS: ratePerSecond(opts.burstKeys, writeMs),
        complete: reached.at !== undefined,
        cpu,
        ...(reached.at !== undefined
          ? { captureMs: Math.round(captureMs), eventsPerS: ratePerSecond(reached.sum - base, captureMs) }
          : {}),
      };
      progress.line(
        `  ${ceiling.eventsPerS === undefined ? 'incomplete' : `${formatRate(ceiling.eventsPerS)} events`}`,
      );
    } finally {
      await stopCapture(runner);
    }

    progress.line(`verify: reading ${topic} from the beginning`);
    const loss = await topicLoss(kafka, admin, topic, {
      groupId: `cdc-bench-verify-${runId}`,
      writerPrefix,
      burstPrefix,
      expected,
      burstKeys: opts.burstKeys,
      burstKey,
    });
    const { lost, burstKeysMissing } = loss;
    progress.line(
      `  ${formatCount(loss.messagesConsumed)} messages; ${lost} lost of ${formatCount(expected.size)} keys; ${burstKeysMissing} burst keys missing`,
    );

    const host = { cpus: cpus().length, cpuModel: cpus()[0]?.model.trim() ?? 'unknown' };
    const notes: string[] = [];
    const otherMax = Math.max(0, ...phases.map((p) => p.cpu.other ?? 0));
    if (host.cpus <= 4)
      notes.push(
        `${host.cpus} cores are shared by ${nodes.length} redis-servers, Kafka, DynamoDB Local (idle), the writer and ` +
          'capture: in B phases capture and the broker take CPU the writer and the primaries had in A phases, so both ' +
          'ratios include that contention as well as what capture costs the cluster itself.',
      );
    if (otherMax >= 0.2)
      notes.push(
        `Work outside this benchmark used up to ${otherMax.toFixed(2)} cores during the measured windows.`,
      );
    if (phases.some((p) => p.captureStats && !p.captureStats.fenced))
      notes.push(
        'In at least one B phase capture did not receive one notification per write (see the JSON report).',
      );
    return {
      bench: 'capture-cluster',
      schemaVersion: 1,
      command: opts.command,
      startedAt,
      finishedAt: new Date().toISOString(),
      host: { ...host, node: process.version, redis: redisVersion, kafka: KAFKA_VERSION },
      settings: {
        durationS: opts.durationS,
        leadInS,
        clients: opts.clients,
        keys: opts.keys,
        ...(opts.rate ? { rate: opts.rate } : {}),
        pairs: opts.pairs,
        burstKeys: opts.burstKeys,
        readFrom: opts.readFrom,
        shards: nodes.filter((n) => n.role === 'primary').length,
        nodes: nodes.length,
        partitions: PARTITIONS,
        ...(captureMain ? { captureMain: relative(process.cwd(), captureMain) } : {}),
      },
      phases,
      pairs,
      ...clusterMedians(pairs),
      ceiling,
      loss: {
        keysChecked: loss.keysChecked,
        lost,
        lostSample: loss.lostSample,
        burstKeysMissing,
        messagesConsumed: loss.messagesConsumed,
      },
      notes,
      reportFile: opts.reportFile,
    };
  } finally {
    if (res.capture) {
      await res.capture.stop().catch(() => res.capture?.kill());
      res.capture = undefined;
    }
    for (const n of nodes) n.admin.disconnect();
    for (const c of [cluster, ...writers]) c.disconnect();
    await admin.disconnect().catch(() => undefined);
    await benchStackDown(progress, res);
  }
}

/** Per-node CPU shares summed into `primaries` and `replicas`. */
function grouped(cpu: CpuShares): CpuShares {
  const out: CpuShares = {};
  for (const [name, v] of Object.entries(cpu)) {
    const group = name.startsWith('primary:') ? 'primaries' : name.startsWith('replica:') ? 'replicas' : name;
    out[group] = Math.round(((out[group] ?? 0) + v) * 100) / 100;
  }
  return out;
}

function withUs(cpu: CpuShares, p: { writes: number; elapsedMs: number }): { primariesUsPerWrite?: number } {
  const v = primariesUsPerWrite(cpu, p);
  return v === undefined ? {} : { primariesUsPerWrite: v };
}

async function waitReady(c: Cluster): Promise<void> {
  if (c.status === 'ready') return;
  await new Promise<void>((resolve, reject) => {
    c.once('ready', resolve);
    c.once('error', reject);
  });
}

/** MSETs of one hash tag's keys (100 per command), 16 in flight; returns how long it took (ms). */
async function burst(
  cluster: Cluster,
  count: number,
  key: (i: number) => string,
  value: (i: number) => string,
): Promise<number> {
  const commands: string[][] = [];
  for (let tag = 0; tag < BURST_TAGS; tag++) {
    let args: string[] = [];
    for (let i = tag; i < count; i += BURST_TAGS) {
      args.push(key(i), value(i));
      if (args.length === 200) {
        commands.push(args);
        args = [];
      }
    }
    if (args.length > 0) commands.push(args);
  }
  const t0 = performance.now();
  let next = 0;
  const worker = async () => {
    while (next < commands.length) await cluster.mset(...(commands[next++] as string[]));
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return performance.now() - t0;
}
