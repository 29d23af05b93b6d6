import { ApplierModule } from '@cdc/applier';
import { CaptureModule } from '@cdc/capture';
import { createKafka } from '@cdc/kafka';
import { createLogger, Metrics } from '@cdc/observability';
import { createRedisClient } from '@cdc/redis';
import { bootPipeline, readItem, testConfig, waitFor } from '@cdc/testing';
import type { IHeaders } from 'kafkajs';
import { describe, expect, it } from 'vitest';

/**
 * The oversized-value policy (docs/item-layout.md): a value too large for one event is never truncated and never
 * silently dropped. It goes to the DLQ with the reason, is counted, and its item becomes a tombstone.
 */
describe('values too large for one event', () => {
  it('are rejected by the in-script size guard or the encoded-size check: DLQ record, metric, tombstone', async () => {
    const config = testConfig({ REDIS_DB: '8', CDC_MAX_EVENT_BYTES: '2048' }); // guard at 4x = 8 KiB
    const { app, metrics } = await bootPipeline(config, [ApplierModule, CaptureModule]);
    const redis = createRedisClient(config.require('redis').redis, 'oversized-writer');
    await redis.connect();
    const kafka = createKafka(config.require('kafka').kafka, createLogger('warn'));
    const consumer = kafka.consumer({ groupId: `${config.sourceId}-dlq-reader` });
    try {
      const guarded = `${config.sourceId}:guarded`; // 64 KiB string: over the guard, never read into memory
      const encoded = `${config.sourceId}:encoded`; // 3 KiB hash: under the guard, over the encoded limit
      const small = `${config.sourceId}:small`;
      await redis.set(guarded, 'small at first');
      await redis.set(small, 'fits');
      await waitFor(
        'the first versions',
        async () => ((await readItem(config, guarded)) && (await readItem(config, small))) || undefined,
      );

      await redis.set(guarded, 'x'.repeat(64 * 1024));
      await redis.hset(encoded, { a: 'y'.repeat(1500), b: 'z'.repeat(1500) });

      for (const key of [guarded, encoded]) {
        const item = await waitFor(`${key} tombstoned`, () => readItem(config, key), {
          accept: (i) => i.deleted,
        });
        expect(item.value).toBeNull();
      }
      expect(await readItem(config, small)).toMatchObject({ deleted: false });
      expect(
        await Metrics.total(metrics.captureRejected, { reason: 'VALUE_TOO_LARGE' }),
      ).toBeGreaterThanOrEqual(2);

      const dlq = new Map<string, IHeaders>();
      await consumer.connect();
      await consumer.subscribe({ topic: config.dlqTopic, fromBeginning: true });
      await consumer.run({
        eachMessage: ({ message }) => {
          if (message.key) dlq.set(message.key.toString(), message.headers ?? {});
          return Promise.resolve();
        },
      });
      await waitFor('both DLQ records', () => (dlq.has(guarded) && dlq.has(encoded) ? true : undefined));
      for (const key of [guarded, encoded]) {
        const headers = dlq.get(key) ?? {};
        expect(headers['cdc-error-code']?.toString()).toBe('VALUE_TOO_LARGE');
        expect(headers['cdc-rejected-by']?.toString()).toBe('capture');
      }
      expect(dlq.get(guarded)?.['cdc-error-reason']?.toString()).toMatch(/string value of ~65536 bytes/);
      expect(dlq.get(encoded)?.['cdc-error-reason']?.toString()).toMatch(/> CDC_MAX_EVENT_BYTES \(2048\)/);
    } finally {
      await consumer.disconnect();
      redis.disconnect();
      await app.close();
    }
  });
});
