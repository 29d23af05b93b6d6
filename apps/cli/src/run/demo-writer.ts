import type { ControlClient } from '@cdc/redis';

/**
 * Makes keys flow on the embedded stack so a new user sees the pipeline move: strings, a hash, a list and a
 * set, with an occasional delete and TTL. Off with `cdc run --no-demo`.
 */
export class DemoWriter {
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;

  constructor(
    private readonly redis: ControlClient,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.write().catch(() => undefined), this.intervalMs);
  }

  /** One command at a time, not MULTI: on a Redis Cluster the demo's keys live in different slots. */
  private async write(): Promise<void> {
    const n = this.tick++;
    const r = this.redis;
    const user = `demo:user:${n % 20}`;
    await r.incr('demo:counter');
    await r.hset(user, { name: `user ${n % 20}`, visits: String(n), updatedAt: new Date().toISOString() });
    await r.lpush('demo:recent', user);
    await r.ltrim('demo:recent', 0, 9);
    await r.sadd('demo:active', user);
    if (n % 10 === 9) await r.del(`demo:user:${(n + 7) % 20}`);
    if (n % 15 === 0) await r.set(`demo:session:${n}`, 'ephemeral', 'EX', 5);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.redis.disconnect();
  }
}
