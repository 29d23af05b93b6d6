import { CaptureModule, CaptureService } from '@cdc/capture';
import { bootPipeline, startRedisServer, type TestRedisServer, testConfig } from '@cdc/testing';
import { afterEach, describe, expect, it } from 'vitest';

/**
 * Startup checks against servers configured like managed Redis, where CONFIG is disabled: capture cannot read
 * notify-keyspace-events, so it proves notifications by a probe of every event class instead.
 */
describe('capture startup checks', () => {
  let server: TestRedisServer | undefined;

  afterEach(async () => {
    await server?.stop();
    server = undefined;
  });

  it('CONFIG disabled but notifications on (e.g. an ElastiCache parameter group): capture starts', async () => {
    server = await startRedisServer({
      args: ['--rename-command', 'CONFIG', '""', '--notify-keyspace-events', 'KEA'],
    });
    const { app } = await bootPipeline(
      testConfig({ REDIS_URL: server.url, CDC_HEARTBEAT_TIMEOUT_MS: '3000' }),
      [CaptureModule],
    );
    try {
      expect(app.get(CaptureService).stats.produced).toBe(0);
    } finally {
      await app.close();
    }
  });

  it('CONFIG disabled and notifications incomplete: capture refuses, naming the setting and what is missing', async () => {
    server = await startRedisServer({
      args: ['--rename-command', 'CONFIG', '""', '--notify-keyspace-events', 'E$h'],
    });
    const boot = bootPipeline(testConfig({ REDIS_URL: server.url, CDC_HEARTBEAT_TIMEOUT_MS: '1500' }), [
      CaptureModule,
    ]);
    await expect(boot).rejects.toThrow(/notify-keyspace-events.*KEA[\s\S]*no notification for: lpush/);
    await expect(boot).rejects.toThrow(/expired \(class x \(expired\)\)/);
  });
});
