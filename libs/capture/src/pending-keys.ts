/**
 * Keys that changed and wait to be read. A notification for a key already waiting only updates its event:
 * a burst of writes on one hot key costs one read (the read returns the latest state anyway).
 */
export interface PendingKey {
  readonly key: Buffer;
  event: string;
  /** When the first notification of this burst arrived (ms, monotonic clock), for latency metrics. */
  readonly since: number;
}

export class PendingKeys {
  private readonly map = new Map<string, PendingKey>();

  /** Returns false when the key was already pending (the notification was coalesced). */
  add(key: Buffer, event: string, now: number): boolean {
    const id = key.toString('latin1');
    const existing = this.map.get(id);
    if (existing) {
      existing.event = event;
      return false;
    }
    this.map.set(id, { key, event, since: now });
    return true;
  }

  /** Removes and returns up to `max` keys, oldest first. */
  take(max: number): PendingKey[] {
    const out: PendingKey[] = [];
    for (const [id, pending] of this.map) {
      if (out.length >= max) break;
      out.push(pending);
      this.map.delete(id);
    }
    return out;
  }

  /** Puts keys back after a failed read or produce, unless a newer notification already re-queued them. */
  restore(keys: readonly PendingKey[]): void {
    for (const p of keys) {
      const id = p.key.toString('latin1');
      if (!this.map.has(id)) this.map.set(id, p);
    }
  }

  /** When the oldest waiting key was first notified (monotonic ms); undefined when nothing waits. */
  oldestSince(): number | undefined {
    for (const pending of this.map.values()) return pending.since;
    return undefined;
  }

  get size(): number {
    return this.map.size;
  }
}
