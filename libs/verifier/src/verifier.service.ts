import { setTimeout as delay } from 'node:timers/promises';
import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CdcConfig } from '@cdc/config';
import {
  createDynamoClient,
  createStreamsClient,
  describeTable,
  getItem,
  StreamReader,
  type StreamRecord,
} from '@cdc/dynamo';
import { HealthRegistry, LOGGER, type Logger, Metrics, settlesWithin, stageStopMs } from '@cdc/observability';
import { decodeText, keyToPk, type RedisState } from '@cdc/parity';
import {
  type ControlClient,
  controlKeys,
  type KeyReader,
  openSourceAccess,
  type SourceAccess,
} from '@cdc/redis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import { ParityLedger, type Verdict } from './parity-ledger';
import { ParityWindow } from './parity-window';
import { check, recordImage, safeState } from './record-check';
import { RedisShardLeases, RedisStreamCheckpoints } from './stream-state';

/** How often the parity window is published for `cdc status`. */
const PUBLISH_EVERY_MS = 2_000;

/**
 * Reads the table's DynamoDB stream back and checks each record against Redis. A mismatch is not believed at
 * once: Redis may simply have moved on (the newer event is in flight), so it is rechecked after a grace
 * period against a consistent read of the item; only a mismatch that survives is confirmed. Checkpoints and
 * shard leases live in Redis, so a restart resumes where it stopped and several instances share the shards.
 */
@Injectable()
export class VerifierService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly ledger = new ParityLedger();
  readonly window: ParityWindow;
  private source: SourceAccess | undefined;
  /** The primary (or a cluster client): checkpoints, leases and the published parity window live there. */
  private redis: ControlClient | undefined;
  private reader: KeyReader | undefined;
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

  get stats(): { seen: number } & ReturnType<ParityLedger['summary']> {
    return { seen: this.seen, ...this.ledger.summary() };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { redis: redisCfg } = this.config.require('redis');
    // Records are checked where capture reads (REDIS_READ_FROM): on a replica, the primary pays nothing.
    this.source = await openSourceAccess(redisCfg, 'cdc-verifier', {
      onError: (err) => this.log.warn({ err: err.message }, 'redis connection error; reconnecting'),
    });
    this.redis = this.source.control;
    this.reader = this.source.reader;
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
      return pk === undefined ? [] : [{ record, image, key: decodeText(pk) }];
    });
    const redisStates = await this.readRedis(entries.map((e) => e.key));
    const now = Date.now();
    entries.forEach(({ image, key }, i) => {
      this.seen++;
      const state = safeState(image);
      const version = state && state !== 'foreign' ? state.version : 0n;
      if (state && state !== 'foreign') this.observeLag(state.capturedAt, state.appliedAt, now);
      const verdict = check(state, redisStates[i] as RedisState, this.config.writer);
      if (verdict === 'match') {
        this.decide(key, 'match', version);
        return;
      }
      const recheck = this.recheck(key, version).finally(() => this.rechecks.delete(recheck));
      this.rechecks.add(recheck);
    });
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

  /** After the grace period: a consistent item read and a fresh Redis read decide. */
  private async recheck(key: Buffer, recordVersion: bigint): Promise<void> {
    // Shutdown ends the wait: the record stays undecided (its checkpoint is already taken; the scan covers it).
    await delay(this.config.verifierGraceMs, undefined, { signal: this.stopping.signal }).catch(
      () => undefined,
    );
    if (!this.running) return;
    try {
      const item = await getItem(this.dynamo as DynamoDBClient, this.config.table, keyToPk(key));
      const [redis] = await this.readRedis([key]);
      const state = safeState(item);
      const verdict = check(state, redis as RedisState, this.config.writer);
      const itemVersion = state && state !== 'foreign' ? state.version : recordVersion;
      const final = verdict !== 'match' && itemVersion > recordVersion ? 'in-flight' : verdict;
      // An in-flight verdict belongs to the old record: it must not mask the newer record's own verdict.
      this.decide(key, final, final === 'in-flight' ? recordVersion : itemVersion);
      if (final !== 'match' && final !== 'in-flight') {
        this.log.warn(
          { key: key.toString('latin1'), class: final, version: itemVersion.toString() },
          'parity mismatch confirmed',
        );
      }
    } catch (err) {
      this.log.warn({ err }, 'recheck failed');
    }
  }

  private async readRedis(keys: Buffer[]): Promise<RedisState[]> {
    const states = await (this.reader as KeyReader).read(keys, false);
    return states.map((s) => ({ value: s.value, expireAtMs: s.expireAtMs }));
  }

  /** The window as a StreamParitySnapshot in Redis, for `cdc status` on any machine. */
  private async publish(): Promise<void> {
    this.metrics.verifierShards.set(this.stream?.openShards ?? 0);
    const key = controlKeys.streamParity(this.config.sourceId, this.config.table);
    await this.redis
      ?.set(key, JSON.stringify(this.window.snapshot()))
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
    const drainMs = Math.max(500, stageStopMs(this.config) - 1_000);
    if (!(await settlesWithin(graceful, drainMs)))
      this.log.warn(
        { waitedMs: drainMs },
        'shutdown: the stream reader did not stop in time; dropping its connections',
      );
    this.source?.close();
    this.dynamo?.destroy();
    this.streams?.destroy();
    await settlesWithin(graceful, 500);
  }
}
