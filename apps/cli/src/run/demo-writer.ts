import type Redis from 'ioredis';

/**
 * Makes keys flow on the embedded stack so a new user sees the pipeline move: strings, a hash, a list and a
 * set, with an occasional delete and TTL. Off with `cdc run --no-demo`.
 */
export class DemoWriter {
  private timer: NodeJS.Timeout | undefined;
  private tick = 0;

  constructor(
    private readonly redis: Redis,
    private readonly intervalMs = 500,
  ) {}

  start(): void {
    this.timer = setInterval(() => void this.write().catch(() => undefined), this.intervalMs);
  }

  private async write(): Promise<void> {
    const n = this.tick++;
    const user = `demo:user:${n % 20}`;
    const m = this.redis.multi();
    m.incr('demo:counter');
    m.hset(user, { name: `user ${n % 20}`, visits: String(n), updatedAt: new Date().toISOString() });
    m.lpush('demo:recent', user);
    m.ltrim('demo:recent', 0, 9);
    m.sadd('demo:active', user);
    if (n % 10 === 9) m.del(`demo:user:${(n + 7) % 20}`);
    if (n % 15 === 0) m.set(`demo:session:${n}`, 'ephemeral', 'EX', 5);
    await m.exec();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.redis.disconnect();
  }
}
