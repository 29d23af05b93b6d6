import { createRedisClient } from '@cdc/redis';
import { startRedisServer, type TestRedisServer } from '@cdc/testing';
import type Redis from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startBareSubscriber } from '../../apps/cli/src/bench/bare-subscriber';

/**
 * The capture bench's floor phase stands on this subscriber really being subscribed to capture's channels
 * while the writer runs: checked on a private redis-server (its own notify-keyspace-events and password).
 */
describe('the capture bench’s bare notification subscriber', () => {
  let server: TestRedisServer;
  let redis: Redis;
  const authed = () => server.url.replace('redis://', 'redis://:bench-secret@');

  beforeAll(async () => {
    server = await startRedisServer({
      args: ['--notify-keyspace-events', 'Eg$lshzxet', '--requirepass', 'bench-secret'],
    });
    redis = createRedisClient({ url: authed(), db: 0 }, 'bench-subscriber-int');
    await redis.connect();
  });

  afterAll(async () => {
    redis?.disconnect();
    await server?.stop();
  });

  it('receives one keyevent message per write on db 0, and only counts them', async () => {
    const sub = await startBareSubscriber(authed(), 0, 2);
    const pipeline = redis.pipeline();
    for (let i = 0; i < 1000; i++) pipeline.set(`bench-sub:${i}`, 'v');
    await pipeline.exec();
    await redis.ping(); // the notifications were pushed before this reply
    await new Promise((r) => setTimeout(r, 200));
    const bytes = await sub.stop();
    // One message per SET: "*4 pmessage <pattern> __keyevent@0__:set bench-sub:<i>", at least 60 bytes each.
    expect(bytes).toBeGreaterThanOrEqual(1000 * 60);
  });

  it('hears nothing from another database', async () => {
    const sub = await startBareSubscriber(authed(), 0, 2);
    const other = createRedisClient({ url: authed(), db: 3 }, 'bench-sub-db3');
    await other.connect();
    try {
      for (let i = 0; i < 200; i++) await other.set(`bench-sub-db3:${i}`, 'v');
    } finally {
      other.disconnect();
    }
    await redis.set('bench-sub:db0', 'v'); // one write it must hear, so silence is not a dead subscriber
    await new Promise((r) => setTimeout(r, 200));
    const bytes = await sub.stop();
    expect(bytes).toBeGreaterThanOrEqual(60); // the db-0 notification (and the AUTH and PSUBSCRIBE replies)
    expect(bytes).toBeLessThan(1_000); // 200 db-3 notifications would be over 12,000
  });

  it('says so when it stopped before the end of its phase (Redis dropped it)', async () => {
    const sub = await startBareSubscriber(authed(), 0, 2);
    await redis.client('KILL', 'TYPE', 'pubsub');
    await new Promise((r) => setTimeout(r, 200));
    await expect(sub.stop()).rejects.toThrow(
      /stopped before the end of its phase: redis closed the connection/,
    );
  });

  it('fails with the server’s reason when it cannot subscribe', async () => {
    await expect(startBareSubscriber(server.url, 0, 2, 5_000)).rejects.toThrow(
      /bare notification subscriber did not subscribe.*NOAUTH/s,
    );
  });
});
