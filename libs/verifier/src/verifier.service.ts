import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CdcConfig } from '@cdc/config';
import {
  createDynamoClient,
  createStreamsClient,
  describeTable,
  StreamReader,
  type StreamRecord,
} from '@cdc/dynamo';
import { type Admin, createKafka } from '@cdc/kafka';
import { HealthRegistry, LOGGER, type Logger, Metrics, settlesWithin, stageBudget } from '@cdc/observability';
import { decodeText } from '@cdc/parity';
import { type ControlClient, controlKeys, openSourceAccess, type SourceAccess } from '@cdc/redis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { ParityLedger, type Verdict } from './parity-ledger';
import { ParityWindow } from './parity-window';
import { PipelineWatch } from './pipeline-watch';
import { check, recordImage, safeState } from './record-check';
import { type Settled, settle, type Suspect } from './scan/recheck';
import { SourceReader, type SourceState } from './source-read';
import { readinessOptions } from './status/status-collector';
import { RedisShardLeases, RedisStreamCheckpoints } from './stream-state';
import { setStreamGauges } from './stream-gauges';

/** How often the parity window is published for `cdc status`. */
const PUBLISH_EVERY_MS = 2_000;
/** Between connect attempts of the admin while Kafka is away (each is itself kafkajs' retried connect). */
const ADMIN_RETRY_MS = 2_000;

/**
 * Reads the table's DynamoDB stream back and checks each record against Redis. A mismatch is not believed at
 * once: Redis may simply have moved on (the newer event is in flight), so it is rechecked after a grace period
 * and confirmed only once the pipeline has passed it (in-flight.ts: capture alive and gap-free, the applier's
 * group committed past the end offset observed after the grace) and the item still did not move. Keys left out
 * by policy (a stream, an oversized value) are `not-carried`, apart from parity. Checkpoints and shard leases
 * live in Redis, so a restart resumes where it stopped and several instances share the shards.
 */
@Injectable()
export class VerifierService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly ledger = new ParityLedger();
  readonly window: ParityWindow;
  private source: SourceAccess | undefined;
  /** The primary (or a cluster client): checkpoints, leases and the published parity window live there. */
  private redis: ControlClient | undefined;
  private reader: SourceReader | undefined;
  private admin: Admin | undefined;
  private watch: PipelineWatch | undefined;
  /** Set once the background connect succeeded (connectAdmin). */
  private adminConnected = false;
  /** Suspects being rechecked now (in flight until the pipeline passes them). */
  private suspects = 0;
  private dynamo: DynamoDBClient | undefined;
  private streams: DynamoDBStreamsClient | undefined;
  private stream: StreamReader | undefined;
  private readonly rechecks = new Set<Promise<void>>();
  private running = false;
  /** Aborted on shutdown: ends grace waits and the wait for the table at once. */
  private readonly stopping = new AbortController();
  private publisher: NodeJS.Timeout | undefined;
  private starting: Promise<void> | undefined;
  private seen = 0;
  private readonly log: Logger;

  constructor(
    private readonly config: CdcConfig,
    private readonly metrics: Metrics,
    private readonly health: HealthRegistry,
    @Inject(LOGGER) logger: Logger,
  ) {
    this.log = logger.child({ component: 'verifier' });
    this.window = new ParityWindow(config.verifierWindowMs);
  }

  get stats(): { seen: number; rechecking: number } & ReturnType<ParityLedger['summary']> {
    return { seen: this.seen, rechecking: this.suspects, ...this.ledger.summary() };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { redis: redisCfg } = this.config.require('redis');
    // Records are checked where capture reads (REDIS_READ_FROM): on a replica, the primary pays nothing.
    this.source = await openSourceAccess(redisCfg, 'cdc-verifier', {
      onError: (err) => this.log.warn({ err: err.message }, 'redis connection error; reconnecting'),
    });
    this.redis = this.source.control;
    this.reader = new SourceReader(this.source.reader, {
      maxEventBytes: this.config.maxEventBytes,
      sourceId: this.config.sourceId,
      db: redisCfg.db,
    });
    if (this.config.kafka) {
      // Offsets only (no group membership): what tells an in-flight mismatch from a real one. Not one of the
      // start-up checks: connected in the background; until then mismatches stay in flight (progress unknown).
      this.admin = createKafka(this.config.kafka, this.log).admin();
      this.watch = new PipelineWatch(this.admin, this.redis, this.config, {
        connected: () => this.adminConnected,
      });
      void this.connectAdmin(this.admin, this.config.kafka.brokers.join(','));
    } else {
      this.log.warn('KAFKA_BROKERS is not set: mismatches stay in flight (the pipeline progress is unknown)');
    }
    this.watch ??= new PipelineWatch(undefined, this.redis, this.config);
    this.dynamo = createDynamoClient(this.config.dynamo);
    this.running = true;
    this.publisher = setInterval(() => void this.publish(), PUBLISH_EVERY_MS);
    this.health.register('verifier', () => ({
      up: this.running,
      detail: { state: this.stream ? 'reading' : 'waiting-for-table', seen: this.seen },
    }));
    // The applier may create the table later: wait in the background so the process (and /health) is up.
    this.starting = this.startReading().catch((err: unknown) =>
      this.log.error({ err }, 'verifier could not start reading'),
    );
  }

  /**
   * Connects the admin, again every ADMIN_RETRY_MS while Kafka is away, until it answers or shutdown. One
   * warning naming Kafka and where, not one per attempt (kafkajs' own retries are summarised by the client).
   */
  private async connectAdmin(admin: Admin, brokers: string): Promise<void> {
    let warned = false;
    while (!this.stopping.signal.aborted) {
      try {
        await admin.connect();
        if (this.stopping.signal.aborted) break; // connected during shutdown: its disconnect may have run
        this.adminConnected = true;
        if (warned) this.log.info({ brokers }, 'kafka admin connected: mismatches are confirmed again');
        return;
      } catch (err) {
        if (this.stopping.signal.aborted) break;
        if (!warned)
          this.log.warn(
            { brokers, err: (err as Error).message, retryMs: ADMIN_RETRY_MS },
            `Kafka at ${brokers} not reachable: the applier's progress is unknown, so stream mismatches stay ` +
              'in flight (none confirmed) until it answers; retrying. Check KAFKA_BROKERS and that Kafka is up',
          );
        warned = true;
      }
      await delay(ADMIN_RETRY_MS, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    await admin.disconnect().catch(() => undefined);
  }

  private async startReading(): Promise<void> {
    const streamArn = await this.waitForStream();
    if (!streamArn || !this.running) return;
    this.streams = createStreamsClient(this.config.dynamo);
    const { sourceId, table } = this.config;
    const redis = this.redis as ControlClient;
    this.stream = new StreamReader(this.streams, streamArn, {
      startAt: 'TRIM_HORIZON',
      pollIntervalMs: 250,
      discoveryIntervalMs: 5_000,
      checkpoints: new RedisStreamCheckpoints(redis, sourceId, table),
      leases: new RedisShardLeases(redis, sourceId, table),
      onRecords: (records) => this.checkRecords(records),
      onError: (err, shardId) => this.log.warn({ err, shardId }, 'stream read error; retrying'),
    });
    this.stream.start();
    this.log.info({ table: this.config.table, streamArn }, 'verifier reading the table stream');
  }

  /** The applier may create the table; wait for it and its stream rather than fail the boot. */
  private async waitForStream(): Promise<string | undefined> {
    for (let attempt = 0; this.running; attempt++) {
      const info = await describeTable(this.dynamo as DynamoDBClient, this.config.table);
      if (info?.streamArn) return info.streamArn;
      if (attempt % 20 === 0)
        this.log.info({ table: this.config.table }, 'waiting for the table and its stream');
      await delay(500, undefined, { signal: this.stopping.signal }).catch(() => undefined);
    }
    return undefined; // stopped while waiting
  }

  private async checkRecords(records: StreamRecord[]): Promise<void> {
    const entries = records.flatMap((record) => {
      const { image, keyImage } = recordImage(record);
      const pk = keyImage?.pk?.S;
      return pk === undefined ? [] : [{ record, image, pk, key: decodeText(pk) }];
    });
    const redisStates = await (this.reader as SourceReader).read(entries.map((e) => e.key));
    const now = Date.now();
    const suspects: Suspect[] = [];
    entries.forEach(({ image, key, pk }, i) => {
      this.seen++;
      const state = safeState(image);
      const version = state && state !== 'foreign' ? state.version : null;
      if (state && state !== 'foreign') this.observeLag(state.capturedAt, state.appliedAt, now);
      const redis = redisStates[i] as SourceState;
      if (redis.notCarried) return this.decide(key, 'not-carried', version ?? 0n);
      const verdict = check(state, redis, this.config.writer);
      if (verdict === 'match') return this.decide(key, 'match', version ?? 0n);
      suspects.push({ key, pk, firstVersion: version, firstAt: now });
    });
    if (suspects.length === 0) return;
    this.suspects += suspects.length;
    const recheck = this.recheck(suspects).finally(() => this.rechecks.delete(recheck));
    this.rechecks.add(recheck);
  }

  /** Captured -> applied -> seen on the stream: each leg, and the whole for the window's p99. */
  private observeLag(capturedAt: number | null, appliedAt: number | null, seenAt: number): void {
    if (capturedAt !== null) {
      const ms = Math.max(0, seenAt - capturedAt);
      this.metrics.verifierEndToEnd.observe(ms / 1000);
      this.window.lag(ms, seenAt);
      if (appliedAt !== null)
        this.metrics.verifierCaptureToApply.observe(Math.max(0, appliedAt - capturedAt) / 1000);
    }
    if (appliedAt !== null)
      this.metrics.verifierApplyToStream.observe(Math.max(0, seenAt - appliedAt) / 1000);
  }

  private decide(key: Buffer, verdict: Verdict, version: bigint): void {
    this.metrics.verifierRecords.inc({ class: verdict });
    this.window.add(verdict);
    this.ledger.record(key, verdict, version);
  }

  /**
   * Rechecks a page's suspects (recheck.ts settle): each is decided as soon as the pipeline passed it. Shutdown
   * ends the wait: undecided records stay so (their checkpoint is already taken; the scan covers them).
   */
  private async recheck(suspects: Suspect[]): Promise<void> {
    const limitMs = this.config.verifierInFlightLimitMs;
    try {
      await settle(
        {
          dynamo: this.dynamo as DynamoDBClient,
          table: this.config.table,
          source: this.reader as SourceReader,
          writer: this.config.writer,
          graceMs: this.config.verifierGraceMs,
          ...(this.watch ? { watch: this.watch } : {}),
          limitMs,
          captureAliveWithinMs: readinessOptions(this.config).aliveWithinMs ?? 10_000,
        },
        suspects,
        this.stopping.signal,
        (suspect, settled) => this.settled(suspect, settled),
      );
    } catch (err) {
      this.log.warn({ err }, 'recheck failed');
    } finally {
      this.suspects -= suspects.length;
    }
  }

  private settled({ key }: Suspect, { verdict, version, detail }: Settled): void {
    // An in-flight verdict belongs to the old record: it must not mask the newer record's own verdict.
    this.decide(key, verdict, version ?? 0n);
    const log = { key: key.toString('latin1'), class: verdict, version: version?.toString() ?? null };
    if (verdict === 'stuck')
      this.log.warn({ ...log, detail }, 'parity mismatch stuck in flight past the limit');
    else if (verdict !== 'match' && verdict !== 'in-flight' && verdict !== 'not-carried')
      this.log.warn(log, 'parity mismatch confirmed');
  }

  /** The window as a StreamParitySnapshot in Redis, for `cdc status` on any machine. */
  private async publish(): Promise<void> {
    setStreamGauges(this.metrics, this.window.classes(), this.stream);
    const key = controlKeys.streamParity(this.config.sourceId, this.config.table);
    await this.redis
      ?.set(key, JSON.stringify({ ...this.window.snapshot(), rechecking: this.suspects }))
      .catch((err: Error) => this.log.warn({ err: err.message }, 'could not publish stream parity'));
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    this.stopping.abort();
    clearInterval(this.publisher);
    // Leases released, checkpoints and the last window written, when Redis and DynamoDB answer; with either
    // gone, not for ever: past this stage's share of the deadline the connections are dropped (an unreleased
    // lease expires by itself; an unwritten checkpoint only means records are checked again).
    const graceful = (async () => {
      await this.starting;
      await this.stream?.stop();
      await Promise.allSettled(this.rechecks);
      await this.publish();
    })();
    const budget = stageBudget(this.config);
    if (!(await settlesWithin(graceful, budget.drainMs)))
      this.log.warn(
        { waitedMs: budget.drainMs },
        'shutdown: the stream reader did not stop in time; dropping its connections',
      );
    await settlesWithin(
      this.admin?.disconnect().catch(() => undefined),
      budget.left() / 2,
    );
    this.source?.close();
    this.dynamo?.destroy();
    this.streams?.destroy();
    await settlesWithin(graceful, budget.left());
  }
}
