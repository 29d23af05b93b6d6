import { ApplierModule } from '@cdc/applier';
import { CaptureModule, CaptureService } from '@cdc/capture';
import { createKafka } from '@cdc/kafka';
import { createLogger, type Metrics } from '@cdc/observability';
import { createRedisClient } from '@cdc/redis';
import { bootPipeline, type FaultProxy, readItem, startFaultProxy, testConfig, waitFor } from '@cdc/testing';
import { VerifierModule } from '@cdc/verifier';
import type { INestApplicationContext } from '@nestjs/common';
import type { Gauge } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

/**
 * The gauges the alerts in deploy/prometheus/alerts.yml rely on, set by the real apps on the real engines:
 * capture's pending keys, the applier's consumer lag per partition (N while DynamoDB refuses every write, 0 once
 * drained), and the verifier's window parity and stream reader progress.
 */
describe('gauges for the alerts', () => {
  const config = testConfig({ REDIS_DB: '15' });
  const keys = Array.from({ length: 30 }, (_, i) => `${config.sourceId}:k${i}`);
  const apps: INestApplicationContext[] = [];
  let proxy: FaultProxy;

  const values = async (gauge: Gauge) => (await gauge.get()).values;
  const value = async (gauge: Gauge) => (await values(gauge))[0]?.value;
  /** The lag gauge as { partition: lag }. */
  const lagByPartition = async (metrics: Metrics) =>
    Object.fromEntries(
      (await values(metrics.applierConsumerLag))
        .filter((v) => v.labels.topic === config.topic)
        .map((v) => [String(v.labels.partition), v.value]),
    );

  beforeAll(async () => {
    proxy = await startFaultProxy({
      target: config.dynamo.endpoint as string,
      rate: 0,
      kinds: ['internal-error'],
      operations: ['PutItem'],
    });
  });

  afterAll(async () => {
    for (const app of apps.reverse()) await app.close();
    await proxy?.close();
  });

  it('capture: pending keys back to 0 once produced; applier: lag per partition while writes fail, 0 once drained', async () => {
    // Capture first, alone: the events wait on the topic for an applier that has not started.
    const capture = await bootPipeline(config, [CaptureModule]);
    apps.push(capture.app);
    const redis = createRedisClient(config.require('redis').redis, 'gauges-writer');
    await redis.connect();
    try {
      for (const key of keys) await redis.set(key, 'v');
    } finally {
      redis.disconnect();
    }
    const service = capture.app.get(CaptureService);
    await waitFor('every key produced', () => service.stats, {
      accept: (s) => s.produced >= keys.length,
    });
    expect(await value(capture.metrics.capturePendingKeys)).toBe(0);
    expect(await capture.metrics.registry.metrics()).toMatch(/^cdc_capture_pending_keys 0$/m);

    const admin = createKafka(config.require('kafka').kafka, createLogger('warn')).admin();
    await admin.connect();
    try {
      const ends = Object.fromEntries(
        (await admin.fetchTopicOffsets(config.topic)).map((w) => [String(w.partition), Number(w.high)]),
      );
      expect(Object.values(ends).reduce((a, b) => a + b, 0)).toBe(keys.length);

      // The applier writes through a proxy that fails every PutItem: nothing is committed, the lag stays.
      proxy.setRate(1);
      const viaProxy = testConfig({
        REDIS_DB: '15',
        CDC_SOURCE_ID: config.sourceId,
        DYNAMODB_ENDPOINT: proxy.endpoint,
      });
      const applier = await bootPipeline(viaProxy, [ApplierModule]);
      apps.push(applier.app);
      await waitFor('the lag of every partition', () => lagByPartition(applier.metrics), {
        accept: (lag) => JSON.stringify(lag) === JSON.stringify(ends),
      });
      await waitFor('PutItem refused', () => proxy.counts.injectedByOperation.PutItem, {
        accept: (n) => n >= 3,
      });
      expect(await lagByPartition(applier.metrics)).toEqual(ends);

      // DynamoDB takes writes again: the batches commit and every partition goes to 0.
      proxy.setRate(0);
      const drained = Object.fromEntries(Object.keys(ends).map((p) => [p, 0]));
      await waitFor('the lag of every partition back to 0', () => lagByPartition(applier.metrics), {
        accept: (lag) => JSON.stringify(lag) === JSON.stringify(drained),
        timeoutMs: 60_000,
      });
      expect(await readItem(config, keys[0] as string)).toMatchObject({ deleted: false });
      const [group] = await admin.fetchOffsets({ groupId: config.applierGroup, topics: [config.topic] });
      for (const p of group?.partitions ?? []) expect(Number(p.offset)).toBe(ends[String(p.partition)]);
    } finally {
      await admin.disconnect();
    }
  });

  it('verifier: window parity 1 over the records read, a fresh last read, the newest record age', async () => {
    const verifier = await bootPipeline(config, [VerifierModule]);
    apps.push(verifier.app);
    const m = verifier.metrics;
    await waitFor('every record in the window', () => value(m.verifierWindowRecords), {
      accept: (n) => n >= keys.length,
      timeoutMs: 30_000,
    });
    expect(await value(m.verifierParityRatio)).toBe(1);
    expect(await value(m.verifierShards)).toBeGreaterThan(0);
    const lastRead = (await value(m.verifierStreamLastRead)) ?? 0;
    expect(Date.now() / 1000 - lastRead).toBeLessThan(10);
    const age = (await value(m.verifierStreamNewestRecordAge)) ?? -1;
    expect(age).toBeGreaterThan(0); // the records were written before the verifier started
    expect(age).toBeLessThan(300);
  });
});
