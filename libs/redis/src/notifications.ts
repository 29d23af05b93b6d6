import type { Readable } from 'node:stream';
import { setTimeout as delay } from 'node:timers/promises';
import type Redis from 'ioredis';

/**
 * Keyspace notifications (https://redis.io/docs/latest/develop/use/keyspace-notifications/). Capture listens
 * on keyevent channels (`E`), for every class that changes state: g (generic: del, expire, rename...),
 * $ string, l list, s set, h hash, z zset, x expired, e evicted, t stream (so a stream is seen and rejected
 * loudly rather than missed).
 */
export const REQUIRED_EVENT_CLASSES = 'Eg$lshzxet';
const ALIAS_A = 'g$lshzxet';

export function missingClasses(current: string): string {
  const have = new Set((current.includes('A') ? current + ALIAS_A : current).split(''));
  return REQUIRED_EVENT_CLASSES.split('')
    .filter((c) => !have.has(c))
    .join('');
}

export class NotificationsOffError extends Error {
  /** False when the setting could not even be read (CONFIG disabled, as on managed Redis): probe instead. */
  readonly checkable: boolean;
  /** `current` null = the setting could not even be read (CONFIG disabled, as on managed Redis). */
  constructor(current: string | null, cause: string) {
    super(
      (current === null
        ? `Redis keyspace notifications could not be checked for capture (CONFIG GET notify-keyspace-events ` +
          `failed: ${cause}). `
        : `Redis keyspace notifications are not enabled for capture (notify-keyspace-events is "${current}", ` +
          `missing "${missingClasses(current)}"), and capture could not enable them (${cause}). `) +
        `Set notify-keyspace-events to "KEA" (at least "${REQUIRED_EVENT_CLASSES}"): in redis.conf ` +
        `\`notify-keyspace-events KEA\`, or \`redis-cli CONFIG SET notify-keyspace-events KEA\`; ` +
        `on ElastiCache/MemoryDB set the parameter group's notify-keyspace-events to KEA.`,
    );
    this.name = 'NotificationsOffError';
    this.checkable = current !== null;
  }
}

/**
 * Makes sure the server publishes what capture needs: sets it when CONFIG is allowed, else stops with the
 * exact setting to change. Returns the effective value.
 */
export async function ensureNotifications(redis: Redis): Promise<string> {
  let current: string;
  try {
    [, current = ''] = (await redis.config('GET', 'notify-keyspace-events')) as string[];
  } catch (err) {
    // CONFIG renamed/disabled (managed Redis): a raw ReplyError here would not say what to change.
    throw new NotificationsOffError(null, (err as Error).message);
  }
  const missing = missingClasses(current);
  if (!missing) return current;
  const wanted = current + missing;
  try {
    await redis.config('SET', 'notify-keyspace-events', wanted);
  } catch (err) {
    throw new NotificationsOffError(current, (err as Error).message);
  }
  return wanted;
}

export type NotificationHandler = (event: string, key: Buffer) => void;

/**
 * A paused socket goes on reading from the kernel, one small chunk per wakeup, until its high-water mark (16 KiB)
 * is buffered: the very wakeups pacing is meant to save. With a 1-byte mark it stops after one chunk, and the
 * kernel, then Redis, hold the rest until the next read takes it in one piece. Node only takes the mark when a
 * socket is made, and ioredis makes it, hence the write to the stream's internal state (a no-op if that moves).
 */
function lowerHighWaterMark(stream: Readable): void {
  const state = (stream as unknown as { _readableState?: { highWaterMark?: number } })._readableState;
  if (state && typeof state.highWaterMark === 'number') state.highWaterMark = 1;
}

/**
 * A pub/sub connection on `__keyevent@<db>__:*`. Notifications are fire-and-forget hints ("key K changed by
 * event E"); the value is always re-read. `onReady` fires on every (re)subscription: a resubscription means
 * notifications may have been missed in between (design invariant 5).
 *
 * Reads are paced (`readPauseMs` > 0): after a chunk, the socket is paused, and every `readPauseMs` whatever
 * has been buffered meanwhile is handed to ioredis as one chunk; the socket flows again only once a pause
 * finds nothing buffered. A busy channel is so parsed in one piece per pause rather than one per Redis
 * event-loop round, and a quiet one is still read at once. No notification waits more than about one pause.
 * While paused, the kernel and then Redis' pub/sub output buffer hold what arrives (100k notifications/s × ~60
 * bytes = ~120 KB per 2 ms, far below client-output-buffer-limit).
 * Measured figures are in docs/architecture.md.
 */
export class KeyeventSubscriber {
  private readonly prefix: string;
  private subscriptions = 0;
  private readonly paced = new WeakSet<Readable>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private stopping = false;

  constructor(
    private readonly sub: Redis,
    private readonly db: number,
    private readonly readPauseMs = 0,
  ) {
    this.prefix = `__keyevent@${db}__:`;
  }

  /** Paces the current socket (ioredis makes a new socket on each reconnect). */
  private pace(): void {
    const stream = this.stream();
    if (this.readPauseMs <= 0 || !stream || this.paced.has(stream)) return;
    this.paced.add(stream);
    lowerHighWaterMark(stream);
    const release = (): void => {
      const timer = setTimeout(() => {
        this.timers.delete(timer);
        if (this.stopping) return; // stop() resumes the socket itself
        if (stream.readableLength > 0) {
          // Paused mode: read() returns everything buffered and emits it as ONE 'data' event (ioredis parses
          // it); a flowing socket would hand over one buffered chunk per event instead.
          stream.read();
          release();
        } else {
          stream.resume();
        }
      }, this.readPauseMs);
      this.timers.add(timer);
    };
    stream.on('data', () => {
      if (this.stopping || stream.isPaused()) return; // isPaused(): our own read() above
      stream.pause();
      release();
    });
  }

  async start(onEvent: NotificationHandler, onSubscribed: (count: number) => void): Promise<void> {
    this.sub.on('pmessageBuffer', (_pattern: Buffer, channel: Buffer, key: Buffer) => {
      onEvent(channel.toString('latin1').slice(this.prefix.length), key);
    });
    this.sub.on('connect', () => this.pace());
    this.sub.on('ready', () => {
      // ioredis re-issues PSUBSCRIBE itself after a reconnect (autoResubscribe).
      if (this.subscriptions > 0) onSubscribed(++this.subscriptions);
    });
    if (this.sub.status === 'wait') await this.sub.connect();
    this.pace();
    await this.sub.psubscribe(`${this.prefix}*`);
    onSubscribed(++this.subscriptions);
  }

  private stream(): Readable | undefined {
    return (this.sub as unknown as { stream?: Readable }).stream;
  }

  async stop(): Promise<void> {
    // Unpaced from here on: the PUNSUBSCRIBE reply below must be read, not left behind a paused socket.
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    this.stream()?.resume();
    this.sub.removeAllListeners('pmessageBuffer');
    // A node that stopped answering (stalled, partitioned) keeps the connection "ready": never wait long for it.
    if (this.sub.status === 'ready')
      await Promise.race([this.sub.punsubscribe().catch(() => undefined), delay(1_000)]);
    this.sub.disconnect();
  }

  /** Drops the connection at once (pending commands are rejected). */
  disconnect(): void {
    this.sub.disconnect();
  }
}
