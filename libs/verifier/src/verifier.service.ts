import { Inject, Injectable, type OnApplicationBootstrap, type OnApplicationShutdown } from '@nestjs/common';
import { CdcConfig } from '@cdc/config';
import {
  createDynamoClient,
  createStreamsClient,
  describeTable,
  getItem,
  MemoryCheckpoints,
  StreamReader,
  type StreamRecord,
} from '@cdc/dynamo';
import { HealthRegistry, LOGGER, type Logger, Metrics } from '@cdc/observability';
import { decodeText, keyToPk, type RedisState } from '@cdc/parity';
import { createRedisClient, VersionedReader } from '@cdc/redis';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import type { DynamoDBStreamsClient } from '@aws-sdk/client-dynamodb-streams';
import type Redis from 'ioredis';
import { ParityLedger } from './parity-ledger';
import { check, recordImage, safeState } from './record-check';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Reads the table's DynamoDB stream back and checks each record against Redis. A mismatch is not believed at
 * once: Redis may simply have moved on (the newer event is in flight), so it is rechecked after a grace
 * period against a consistent read of the item; only a mismatch that survives is confirmed.
 */
@Injectable()
export class VerifierService implements OnApplicationBootstrap, OnApplicationShutdown {
  readonly ledger = new ParityLedger();
  private redis: Redis | undefined;
  private reader: VersionedReader | undefined;
  private dynamo: DynamoDBClient | undefined;
  private streams: DynamoDBStreamsClient | undefined;
  private stream: StreamReader | undefined;
  private readonly rechecks = new Set<Promise<void>>();
  private running = false;
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
  }

  get stats(): { seen: number } & ReturnType<ParityLedger['summary']> {
    return { seen: this.seen, ...this.ledger.summary() };
  }

  async onApplicationBootstrap(): Promise<void> {
    const { redis: redisCfg } = this.config.require('redis');
    this.redis = createRedisClient(redisCfg, 'cdc-verifier', {}, (err) =>
      this.log.warn({ err: err.message }, 'redis connection error; reconnecting'),
    );
    await this.redis.connect();
    this.reader = new VersionedReader(this.redis);
    this.dynamo = createDynamoClient(this.config.dynamo);
    this.running = true;
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
    this.stream = new StreamReader(this.streams, streamArn, {
      startAt: 'TRIM_HORIZON',
      pollIntervalMs: 250,
      discoveryIntervalMs: 5_000,
      checkpoints: new MemoryCheckpoints(),
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
      await sleep(500);
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
      if (state && state !== 'foreign' && state.capturedAt !== null) {
        this.metrics.verifierEndToEnd.observe(Math.max(0, now - state.capturedAt) / 1000);
      }
      const verdict = check(state, redisStates[i] as RedisState, this.config.writer);
      if (verdict === 'match') {
        this.metrics.verifierRecords.inc({ class: 'match' });
        this.ledger.record(key, 'match', version);
        return;
      }
      const recheck = this.recheck(key, version).finally(() => this.rechecks.delete(recheck));
      this.rechecks.add(recheck);
    });
  }

  /** After the grace period: a consistent item read and a fresh Redis read decide. */
  private async recheck(key: Buffer, recordVersion: bigint): Promise<void> {
    await sleep(this.config.verifierGraceMs);
    if (!this.running) return;
    try {
      const item = await getItem(this.dynamo as DynamoDBClient, this.config.table, keyToPk(key));
      const [redis] = await this.readRedis([key]);
      const state = safeState(item);
      const verdict = check(state, redis as RedisState, this.config.writer);
      const itemVersion = state && state !== 'foreign' ? state.version : recordVersion;
      const final = verdict !== 'match' && itemVersion > recordVersion ? 'in-flight' : verdict;
      this.metrics.verifierRecords.inc({ class: final });
      // An in-flight verdict belongs to the old record: it must not mask the newer record's own verdict.
      this.ledger.record(key, final, final === 'in-flight' ? recordVersion : itemVersion);
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
    const states = await (this.reader as VersionedReader).read(keys, false);
    return states.map((s) => ({ value: s.value, expireAtMs: s.expireAtMs }));
  }

  async onApplicationShutdown(): Promise<void> {
    this.running = false;
    await this.starting;
    await this.stream?.stop();
    await Promise.allSettled(this.rechecks);
    this.redis?.disconnect();
    this.dynamo?.destroy();
    this.streams?.destroy();
  }
}
