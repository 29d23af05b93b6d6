import { type DynamoDBClient, PutItemCommand } from '@aws-sdk/client-dynamodb';
import { type DynamicModule, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { ConfigModule, loadConfig, toEnv } from '@cdc/config';
import type { ChangeEvent } from '@cdc/contracts';
import { ensureTable } from '@cdc/dynamo';
import { type Logger, Metrics, ObservabilityModule } from '@cdc/observability';
import { eventToItem } from '@cdc/parity';
import { VerifierModule, VerifierService } from '@cdc/verifier';
import type Redis from 'ioredis';
import type { Progress } from './progress';
import { type Quantiles, quantilesOf } from './applier-figures';
import { verdictLags } from './verify-figures';

export interface LagTarget {
  readonly redisUrl: string;
  readonly db: number;
  readonly dynamodbEndpoint: string;
  readonly sourceId: string;
  readonly table: string;
  readonly writer: string;
  readonly keyPrefix: string;
}

export interface StreamLagResult {
  readonly table: string;
  readonly offeredPerS: number;
  readonly seconds: number;
  readonly records: number;
  /** Records with a verdict before the wait ended, by verdict (all `match` when the table equals Redis). */
  readonly verdicts: Readonly<Record<string, number>>;
  readonly unanswered: number;
  /** appliedAt (set just before each PutItem) → the verifier's verdict on that record (its ledger's time). */
  readonly lag: Quantiles;
  readonly lagMeanMs?: number;
  /** The verifier's own apply→stream histogram (cdc_verifier_apply_to_stream_seconds): its mean, as a check. */
  readonly metricMeanMs?: number;
  readonly metricCount: number;
}

@Module({})
class BenchVerifierModule {
  static forRoot(config: ReturnType<typeof loadConfig>, logger: Logger, metrics: Metrics): DynamicModule {
    return {
      module: BenchVerifierModule,
      imports: [
        ConfigModule.forRoot(config),
        ObservabilityModule.forRoot({ logger, metrics, http: false }),
        VerifierModule,
      ],
    };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls until `done` or the timeout; returns whether it got there. */
async function until(done: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!done()) {
    if (Date.now() > deadline) return false;
    await sleep(20);
  }
  return true;
}

/**
 * Stream check lag: the streaming verifier (VerifierService, as `cdc run` hosts it) reads a fresh table's
 * stream while records are written at a steady rate, each one a Redis SET then the item the applier would
 * write (eventToItem, appliedAt = the moment before PutItem). The verdict time of each record is read from
 * the verifier's public ledger (KeyVerdict.at), so every record gives an exact lag, not a histogram bucket.
 */
export async function measureStreamLag(
  target: LagTarget,
  clients: { readonly redis: Redis; readonly dynamo: DynamoDBClient },
  load: { readonly perS: number; readonly seconds: number },
  progress: Progress,
  logger: Logger,
): Promise<StreamLagResult> {
  const { redis, dynamo } = clients;
  await ensureTable(dynamo, target.table, true);
  const config = loadConfig(
    toEnv({
      REDIS_URL: target.redisUrl,
      REDIS_DB: target.db,
      DYNAMODB_ENDPOINT: target.dynamodbEndpoint,
      AWS_REGION: 'us-east-1',
      CDC_SOURCE_ID: target.sourceId,
      CDC_TABLE: target.table,
      CDC_WRITER: target.writer,
      LOG_LEVEL: 'warn',
    }),
  );
  const metrics = new Metrics({ defaultMetrics: false });
  const app = await NestFactory.createApplicationContext(
    BenchVerifierModule.forRoot(config, logger, metrics),
    {
      logger: false,
    },
  );
  try {
    const verifier = app.get(VerifierService);
    let seq = 0;
    const write = async (key: string): Promise<number> => {
      const value = `${key}:${seq}`;
      await redis.set(key, value);
      const appliedAt = Date.now();
      const event: ChangeEvent = {
        sourceId: target.sourceId,
        db: target.db,
        key: Buffer.from(key),
        op: 'UPSERT',
        value: { type: 'string', data: Buffer.from(value) },
        version: BigInt(appliedAt) * 1000n + BigInt(seq++ % 1000),
        expireAt: null,
        event: 'set',
        origin: 'live',
        capturedAt: appliedAt,
      };
      const item = eventToItem(event, { writer: target.writer, appliedAt, tombstoneTtlSeconds: 86_400 });
      await dynamo.send(new PutItemCommand({ TableName: target.table, Item: item }));
      return appliedAt;
    };

    // The verifier finds the table's stream and opens its shard in the background: a first record that gets
    // its verdict says it is reading, so the measured records are not waiting for the start-up.
    const probe = `${target.keyPrefix}probe`;
    progress.line('stream lag: waiting for the verifier to read the table stream');
    await write(probe);
    if (!(await until(() => verifier.ledger.get(Buffer.from(probe)) !== undefined, 120_000)))
      throw new Error(`the streaming verifier gave no verdict on ${target.table} within 120 s`);

    const records = Math.max(1, Math.round(load.perS * load.seconds));
    progress.line(`stream lag: ${records} records at ${load.perS}/s, each a Redis SET and then its item`);
    const bar = progress.bar('stream', records, 'records');
    const written: Array<Promise<{ key: string; appliedAt: number }>> = [];
    const t0 = performance.now();
    for (let i = 0; i < records; i++) {
      const wait = t0 + (i * 1000) / load.perS - performance.now();
      if (wait > 0) await sleep(wait);
      const key = `${target.keyPrefix}${i}`;
      const done = write(key).then((appliedAt) => ({ key, appliedAt }));
      done.catch(() => undefined); // handled where all are awaited; not an unhandled rejection meanwhile
      written.push(done);
      bar.update(i + 1);
    }
    const done = await Promise.all(written);
    bar.stop();
    // Matches are decided on first sight; the wait covers the grace recheck of anything that did not match.
    await until(
      () => done.every((w) => verifier.ledger.get(Buffer.from(w.key)) !== undefined),
      30_000 + config.verifierGraceMs,
    );
    const verdicts: Record<string, number> = {};
    const seen = done.map((w) => {
      const v = verifier.ledger.get(Buffer.from(w.key));
      if (v) verdicts[v.verdict] = (verdicts[v.verdict] ?? 0) + 1;
      return { appliedAt: w.appliedAt, verdictAt: v?.at };
    });
    const { lagsMs, unanswered } = verdictLags(seen);
    const histogram = await metrics.verifierApplyToStream.get();
    const sum = histogram.values.find((v) => v.metricName?.endsWith('_sum'))?.value ?? 0;
    const count = histogram.values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
    return {
      table: target.table,
      offeredPerS: load.perS,
      seconds: load.seconds,
      records,
      verdicts,
      unanswered,
      lag: quantilesOf(lagsMs),
      ...(lagsMs.length > 0
        ? { lagMeanMs: Math.round((lagsMs.reduce((a, b) => a + b, 0) / lagsMs.length) * 10) / 10 }
        : {}),
      ...(count > 0 ? { metricMeanMs: Math.round((sum / count) * 10_000) / 10 } : {}),
      metricCount: count,
    };
  } finally {
    await app.close();
  }
}
