import type Redis from 'ioredis';

/** `INFO` sections are `key:value` lines; commandstats values are `calls=N,usec=...`. */
export function parseInfo(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split('\r\n')) {
    const i = line.indexOf(':');
    if (i > 0 && !line.startsWith('#')) out.set(line.slice(0, i), line.slice(i + 1));
  }
  return out;
}

function calls(info: Map<string, string>, command: string): number {
  const m = /calls=(\d+)/.exec(info.get(`cmdstat_${command}`) ?? '');
  return m ? Number(m[1]) : 0;
}

/**
 * Counters that reveal lost notifications: FLUSHDB, FLUSHALL and SWAPDB change many keys and publish no per-key
 * event, and a pub/sub client dropped for its output buffer loses what was queued. The last counter exists
 * from Redis 7.2 (`client_output_buffer_limit_disconnections`); null before.
 */
export interface ServerCounters {
  readonly flushdb: number;
  readonly flushall: number;
  readonly swapdb: number;
  readonly outputBufferDisconnections: number | null;
}

export async function readServerCounters(redis: Redis): Promise<ServerCounters> {
  const [commandstats, stats] = await Promise.all([redis.info('commandstats'), redis.info('stats')]);
  const cmd = parseInfo(commandstats);
  const obl = parseInfo(stats).get('client_output_buffer_limit_disconnections');
  return {
    flushdb: calls(cmd, 'flushdb'),
    flushall: calls(cmd, 'flushall'),
    swapdb: calls(cmd, 'swapdb'),
    outputBufferDisconnections: obl === undefined ? null : Number(obl),
  };
}

/** Bytes queued for a named pub/sub client (`omem` in CLIENT LIST), or null if it is not connected. */
export async function pubsubOutputBuffer(redis: Redis, clientName: string): Promise<number | null> {
  const list = (await redis.call('CLIENT', 'LIST', 'TYPE', 'pubsub')) as string;
  for (const line of list.split('\n')) {
    if (!line.includes(` name=${clientName} `)) continue;
    const m = /(?:^| )omem=(\d+)/.exec(line);
    return m ? Number(m[1]) : 0;
  }
  return null;
}

/** The pub/sub class's hard output-buffer limit in bytes (0 = unlimited). */
export async function pubsubHardLimit(redis: Redis): Promise<number> {
  try {
    const [, value = ''] = (await redis.config('GET', 'client-output-buffer-limit')) as string[];
    const m = /pubsub (\d+)/.exec(value);
    return m ? Number(m[1]) : 0;
  } catch {
    return 0; // CONFIG disabled (managed Redis): unknown
  }
}

/**
 * One SCAN step, binary-safe. Keys present for the whole scan are returned at least once:
 * https://redis.io/docs/latest/commands/scan/
 */
export async function scanStep(
  redis: Redis,
  cursor: string,
  opts: { match?: string; count: number },
): Promise<{ cursor: string; keys: Buffer[] }> {
  const [next, keys] = opts.match
    ? await redis.scanBuffer(cursor, 'MATCH', opts.match, 'COUNT', opts.count)
    : await redis.scanBuffer(cursor, 'COUNT', opts.count);
  return { cursor: next.toString(), keys };
}
