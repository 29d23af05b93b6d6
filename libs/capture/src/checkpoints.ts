import { JsonFile } from '@cdc/config';
import { type ControlClient, INTERNAL_PREFIX } from '@cdc/redis';
import type { CheckpointStore, ScanCheckpoint } from './keyspace-scanner';

/**
 * Reconciliation checkpoints live in Redis itself (a hash under the reserved prefix): any capture instance of
 * the source resumes an interrupted scan, and no local disk is needed. A FLUSHDB also clears it, which is right:
 * the cursor would be meaningless.
 */
export class RedisCheckpointStore implements CheckpointStore {
  private readonly key: string;

  constructor(
    private readonly redis: ControlClient,
    name: string,
  ) {
    this.key = `${INTERNAL_PREFIX}scan:${name}`;
  }

  async load(): Promise<ScanCheckpoint | null> {
    const h = await this.redis.hgetall(this.key);
    if (!h.cursor) return null;
    return {
      cursor: h.cursor,
      scanned: Number(h.scanned ?? 0),
      captured: Number(h.captured ?? 0),
      startedAt: Number(h.startedAt ?? Date.now()),
      ...(h.match ? { match: h.match } : {}),
      ...(h.node ? { node: h.node } : {}),
      ...(h.nodeIndex ? { nodeIndex: Number(h.nodeIndex) } : {}),
    };
  }

  async save(c: ScanCheckpoint): Promise<void> {
    await this.redis.hset(this.key, {
      cursor: c.cursor,
      scanned: String(c.scanned),
      captured: String(c.captured),
      startedAt: String(c.startedAt),
      ...(c.match ? { match: c.match } : {}),
      ...(c.node ? { node: c.node } : {}),
      nodeIndex: String(c.nodeIndex ?? 0),
    });
    if (!c.node) await this.redis.hdel(this.key, 'node');
  }

  async clear(): Promise<void> {
    await this.redis.del(this.key);
  }
}

/** The CLI snapshot's checkpoint: one JSON file written atomically, so kill -9 never tears it. */
export class FileCheckpointStore extends JsonFile<ScanCheckpoint> implements CheckpointStore {}
