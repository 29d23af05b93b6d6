import { randomBytes } from 'node:crypto';
import {
  type ControlClient,
  controlKeys,
  formatSlots,
  INTERNAL_PREFIX,
  pubsubHardLimit,
  pubsubOutputBuffer,
  readServerCounters,
  type ServerCounters,
} from '@cdc/redis';
import type Redis from 'ioredis';

/**
 * Why notifications may have been lost (design invariant 5). Each is a metric label and a log line. Five are
 * replica mode's (replica-watch.ts): the replica restarted, was fully resynchronised (its data replaced without
 * a keyspace event), changed history (failover, restart of its primary), was promoted, or is lost. In a Redis
 * Cluster, `failover` and `reshard` are slots that changed owner (cluster-capture.ts).
 */
export type GapCause =
  | 'reconnect'
  | 'output-buffer-limit'
  | 'heartbeat-timeout'
  | 'flushdb'
  | 'flushall'
  | 'swapdb'
  | 'downtime'
  | 'replica-restart'
  | 'full-resync'
  | 'history-break'
  | 'failover'
  | 'replica-lost'
  | 'reshard';

/** The primary (capture's own writes) and the node capture subscribes and reads on (the primary itself, or a replica). */
export interface MonitoredNodes {
  readonly control: () => ControlClient;
  readonly reader: () => Redis;
}

export interface GapMonitorOptions {
  readonly sourceId: string;
  /** CLIENT SETNAME of the subscriber connection, to find its output buffer in CLIENT LIST. */
  readonly subscriberName: string;
  readonly intervalMs: number;
  /** A heartbeat whose own notification has not come back after this long is a gap. */
  readonly timeoutMs: number;
  readonly onGap: (cause: GapCause, detail: Record<string, unknown>) => void;
  readonly onOutputBuffer?: (bytes: number) => void;
  /** The subscriber was not among the reader's pub/sub clients for two ticks in a row. */
  readonly onSubscriberMissing?: () => void;
  /**
   * A Redis Cluster shard: the heartbeat key must be in one of its slots (a hash tag), and its gaps are gaps of
   * its slots only, named in the gap record and rescanned alone. Unset = the whole keyspace.
   */
  readonly shard?: { readonly heartbeatTag: string; readonly slots: () => readonly number[] };
  /** Whether this monitor checks capture's downtime at start (one per process; default true). */
  readonly checkDowntime?: boolean;
}

const HEALED = `
local gapAt = redis.call('HGET', KEYS[1], 'lastGapAt')
if gapAt and tonumber(gapAt) > tonumber(ARGV[1]) then return 0 end
redis.call('HSET', KEYS[1], 'lastHealedAt', ARGV[2])
return 1`;

/** Which counters moved between two samples, as gap causes. */
export function countersToCauses(before: ServerCounters, after: ServerCounters): GapCause[] {
  const causes: GapCause[] = [];
  if (after.flushall > before.flushall) causes.push('flushall');
  if (after.flushdb > before.flushdb) causes.push('flushdb');
  if (after.swapdb > before.swapdb) causes.push('swapdb');
  return causes;
}

/**
 * Watches for lost notifications:
 * - a heartbeat key written every interval must come back as a notification within the timeout;
 * - FLUSHDB/FLUSHALL/SWAPDB publish no per-key events, so their INFO commandstats counters are polled;
 * - a resubscription is a gap; its cause is the output-buffer limit when Redis counted such a disconnection
 *   (7.2+) or the buffer was past half the hard limit at the last sample, else a plain reconnect;
 * - an alive marker with the time of the last tick reveals capture downtime at the next start.
 * The heartbeat, the alive marker and the gap record are written on the primary; counters and the subscriber's
 * buffer are read on the node capture reads (a replica counts the FLUSHALL it replays), so in replica mode the
 * heartbeat proves the whole path: primary, replication link, replica, subscriber.
 * Each gap, and the end of the scan that heals it, is kept in the GapRecord hash for `cdc status`.
 */
export class GapMonitor {
  readonly heartbeatKey: Buffer;
  private readonly aliveKey: string;
  private readonly gapsKey: string;
  private timer: NodeJS.Timeout | undefined;
  private counters: ServerCounters | undefined;
  private pending: { token: string; sentAt: number } | undefined;
  private lastBuffer = 0;
  private ticking = false;
  private missingTicks = 0;
  private since = Date.now();
  private hardLimit = 0;

  constructor(
    private readonly nodes: MonitoredNodes,
    private readonly opts: GapMonitorOptions,
  ) {
    const tag = opts.shard ? `{${opts.shard.heartbeatTag}}` : '';
    this.heartbeatKey = Buffer.from(
      `${INTERNAL_PREFIX}hb:${opts.sourceId}:${randomBytes(4).toString('hex')}${tag}`,
    );
    this.aliveKey = controlKeys.alive(opts.sourceId);
    this.gapsKey = controlKeys.gaps(opts.sourceId);
  }

  /** Checks for downtime since the last capture of this source, then starts ticking. */
  async start(): Promise<void> {
    // Earlier gaps stay in the record: one a previous run left unhealed is still unhealed.
    this.since = Date.now();
    const control = this.nodes.control();
    await control.hset(this.gapsKey, 'since', String(this.since));
    const last = await control.get(this.aliveKey);
    const silentMs = last === null ? null : Date.now() - Number(last);
    const downtime = silentMs !== null && silentMs > this.opts.intervalMs * 2 + this.opts.timeoutMs;
    if (downtime && this.opts.checkDowntime !== false) {
      this.gap('downtime', { silentMs });
    }
    await control.set(this.aliveKey, String(Date.now()));
    await this.resetBaseline();
    this.timer = setInterval(() => void this.tick().catch(() => undefined), this.opts.intervalMs);
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
  }

  /** Counters and limits of the node capture reads on, taken again when it changes (a failover). */
  async resetBaseline(): Promise<void> {
    const reader = this.nodes.reader();
    this.counters = await readServerCounters(reader);
    this.hardLimit = await pubsubHardLimit(reader);
    this.lastBuffer = 0;
  }

  /**
   * A gap found elsewhere (the replica watcher, a cluster topology change): recorded and healed like the
   * monitor's own; `slots` names the slots it covers when they are not this monitor's shard's.
   */
  report(cause: GapCause, detail: Record<string, unknown>, slots?: readonly number[]): void {
    this.gap(cause, detail, slots);
  }

  /** Whether a notification is our own heartbeat (then it is consumed here, not captured). */
  isHeartbeat(event: string, key: Buffer): boolean {
    if (!key.equals(this.heartbeatKey)) return false;
    if (event === 'set') this.pending = undefined;
    return true;
  }

  /** Called on every (re)subscription of the keyspace subscriber. */
  async onSubscribed(count: number): Promise<void> {
    if (count <= 1) return;
    const before = this.counters;
    const after = await readServerCounters(this.nodes.reader()).catch(() => undefined);
    const counted =
      before?.outputBufferDisconnections != null &&
      after?.outputBufferDisconnections != null &&
      after.outputBufferDisconnections > before.outputBufferDisconnections;
    const nearLimit = this.hardLimit > 0 && this.lastBuffer > this.hardLimit / 2;
    if (after) this.counters = after;
    this.gap(counted || nearLimit ? 'output-buffer-limit' : 'reconnect', {
      subscriptions: count,
      lastOutputBufferBytes: this.lastBuffer,
    });
  }

  /**
   * A reconciliation scan finished. It heals the last gap only if it started after it: a gap that arrived
   * during the scan is healed by the scan folded in after it.
   */
  async healed(scan: { readonly completed: boolean; readonly startedAt: number }): Promise<void> {
    if (scan.completed) await this.nodes.control().eval(HEALED, 1, this.gapsKey, scan.startedAt, Date.now());
  }

  /** Recorded before the callback starts the heal, on the same connection, so a heal is never written first. */
  private gap(cause: GapCause, detail: Record<string, unknown>, only?: readonly number[]): void {
    const slots = only ?? this.opts.shard?.slots();
    const named = slots ? formatSlots(slots) : 'all';
    this.nodes
      .control()
      .multi()
      .hset(this.gapsKey, 'lastGapAt', String(Date.now()), 'lastGapCause', cause, 'lastGapSlots', named)
      .hsetnx(this.gapsKey, 'since', String(this.since)) // FLUSHDB emptied the record with the data
      .hdel(this.gapsKey, 'lastHealedAt')
      .hincrby(this.gapsKey, 'gaps', 1)
      .exec()
      .catch(() => undefined); // Redis down: the reconnect itself is a gap recorded once it is back
    this.opts.onGap(cause, slots ? { ...detail, slots } : detail);
  }

  /**
   * One tick at a time: a node that stopped answering must not pile ticks (and their commands) up. The
   * heartbeat and the alive marker go to the primary first, so a reader that hangs (a stalled replica) does not
   * also silence the primary's proof that capture is alive; the reader's checks come after.
   */
  private async tick(): Promise<void> {
    if (this.ticking) return;
    this.ticking = true;
    try {
      const now = Date.now();
      if (this.pending && now - this.pending.sentAt > this.opts.timeoutMs) {
        this.gap('heartbeat-timeout', { waitedMs: now - this.pending.sentAt });
        this.pending = undefined;
      }
      const control = this.nodes.control();
      if (!this.pending) {
        const token = String(now);
        this.pending = { token, sentAt: now };
        await control.set(this.heartbeatKey, token, 'PX', Math.max(60_000, this.opts.timeoutMs * 4));
      }
      await control.set(this.aliveKey, String(now));
      const reader = this.nodes.reader();
      const after = await readServerCounters(reader);
      if (this.counters) for (const cause of countersToCauses(this.counters, after)) this.gap(cause, {});
      this.counters = after;
      const buffer = await pubsubOutputBuffer(reader, this.opts.subscriberName);
      if (buffer !== null) {
        this.missingTicks = 0;
        this.lastBuffer = buffer;
        this.opts.onOutputBuffer?.(buffer);
      } else if (++this.missingTicks >= 2) {
        // Twice: a reconnect in progress is over within a tick; a subscriber on another node never is.
        this.missingTicks = 0;
        this.gap('reconnect', { subscriber: 'not connected to the node capture reads' });
        this.opts.onSubscriberMissing?.();
      }
    } finally {
      this.ticking = false;
    }
  }
}
