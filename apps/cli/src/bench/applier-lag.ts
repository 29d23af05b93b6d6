import { type DynamoDBClient, paginateScan } from '@aws-sdk/client-dynamodb';
import { ATTR, type Item } from '@cdc/parity';
import type Redis from 'ioredis';

/** Epoch ms with a fractional part: the same clock as Date.now() (capturedAt, appliedAt), finer grained. */
export const epochMs = (): number => performance.timeOrigin + performance.now();

/** `<epoch ms>:<seq>:` padded with x to `bytes`: the value carries its own write time (lagFigures reads it). */
export function timedValue(writtenAt: number, seq: number, bytes: number): string {
  const head = `${writtenAt.toFixed(3)}:${seq}:`;
  return head.length >= bytes ? head : head + 'x'.repeat(bytes - head.length);
}

export interface PacedWriteResult {
  readonly writes: number;
  readonly elapsedMs: number;
}

/**
 * An open-loop writer: `SET <prefix><seq>` at a fixed rate whatever the replies' latency (a closed loop would
 * slow down with the system and hide lag), a new key per write so every write leaves its own item.
 */
export async function runPacedWriter(
  redis: Redis,
  opts: {
    readonly ratePerS: number;
    readonly durationMs: number;
    readonly keyPrefix: string;
    readonly valueBytes: number;
    readonly onProgress?: (writes: number, elapsedMs: number) => void;
  },
): Promise<PacedWriteResult> {
  const started = performance.now();
  const total = Math.max(1, Math.round((opts.ratePerS * opts.durationMs) / 1000));
  const replies: Array<Promise<unknown>> = [];
  let issued = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const elapsed = performance.now() - started;
      const due = Math.min(total, Math.floor((elapsed * opts.ratePerS) / 1000) + 1);
      for (; issued < due; issued++) {
        const value = timedValue(epochMs(), issued, opts.valueBytes);
        replies.push(redis.set(`${opts.keyPrefix}${issued}`, value));
      }
      opts.onProgress?.(issued, elapsed);
      if (issued >= total) {
        clearInterval(timer);
        done();
      }
    };
    const timer = setInterval(tick, 2);
    tick();
  });
  await Promise.all(replies);
  return { writes: issued, elapsedMs: performance.now() - started };
}

/** Every item of a table whose pk starts with `prefix` (a full Scan: benchmark tables are small). */
export async function scanItems(client: DynamoDBClient, table: string, prefix = ''): Promise<Item[]> {
  const items: Item[] = [];
  for await (const page of paginateScan(
    { client, pageSize: 1000 },
    { TableName: table, ConsistentRead: true },
  ))
    for (const item of page.Items ?? []) if ((item[ATTR.pk]?.S ?? '').startsWith(prefix)) items.push(item);
  return items;
}
