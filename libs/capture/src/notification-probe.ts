import { randomBytes } from 'node:crypto';
import { INTERNAL_PREFIX, type ReadMode } from '@cdc/redis';
import type Redis from 'ioredis';

/** One write per keyspace-event class capture relies on, and the event it must publish. */
export const PROBED_EVENTS: Readonly<Record<string, string>> = {
  set: '$ (strings)',
  hset: 'h (hashes)',
  lpush: 'l (lists)',
  sadd: 's (sets)',
  zadd: 'z (sorted sets)',
  xadd: 't (streams)',
  expire: 'g (generic)',
  del: 'g (generic)',
  expired: 'x (expired)',
};

/**
 * Proves notifications work by observing them, for servers where `CONFIG GET` is not allowed (ElastiCache,
 * MemoryDB): writes reserved probe keys of every type on the primary and waits for each event class to come back
 * on the subscriber. Resolves with the classes that never arrived (empty = all good). A replica never publishes
 * `expired` (the primary's expiry reaches it as a DEL), so replica mode does not wait for it.
 */
export class NotificationProbe {
  private readonly prefix = Buffer.from(`${INTERNAL_PREFIX}probe:${randomBytes(4).toString('hex')}:`);
  private readonly seen = new Set<string>();
  private onSeen: (() => void) | undefined;
  private readonly expected: Readonly<Record<string, string>>;

  constructor(mode: ReadMode = 'primary') {
    this.expected =
      mode === 'replica'
        ? Object.fromEntries(Object.entries(PROBED_EVENTS).filter(([e]) => e !== 'expired'))
        : PROBED_EVENTS;
  }

  /** Consumes the notification when it is one of the probe's own. */
  observe(event: string, key: Buffer): boolean {
    if (key.length < this.prefix.length || !key.subarray(0, this.prefix.length).equals(this.prefix))
      return false;
    this.seen.add(event);
    this.onSeen?.();
    return true;
  }

  async run(redis: Redis, timeoutMs: number): Promise<string[]> {
    const k = (suffix: string) => Buffer.concat([this.prefix, Buffer.from(suffix)]);
    const done = new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      this.onSeen = () => {
        if (Object.keys(this.expected).every((e) => this.seen.has(e))) {
          clearTimeout(timer);
          resolve();
        }
      };
    });
    await redis
      .multi()
      .set(k('s'), '1')
      .hset(k('h'), 'f', 'v')
      .lpush(k('l'), 'a')
      .sadd(k('set'), 'a')
      .zadd(k('z'), 1, 'a')
      .xadd(k('t'), '*', 'f', 'v')
      .pexpire(k('s'), 60_000)
      .del(k('h'), k('l'), k('set'), k('z'), k('t'), k('s'))
      .set(k('x'), '1', 'PX', 1)
      .exec();
    await done;
    this.onSeen = undefined;
    return Object.entries(this.expected)
      .filter(([event]) => !this.seen.has(event))
      .map(([event, cls]) => `${event} (class ${cls})`);
  }
}
