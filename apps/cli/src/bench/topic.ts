import { ChangeEventCodec } from '@cdc/contracts';
import { type Admin, type Kafka, readTopicToEnd } from '@cdc/kafka';
import type { LossResult } from './capture-report';

/** Sum of the topic's end offsets over all partitions (= messages ever written, nothing is deleted here). */
export async function sumEndOffsets(admin: Admin, topic: string): Promise<number> {
  const offsets = await admin.fetchTopicOffsets(topic);
  return offsets.reduce((sum, o) => sum + Number(o.high), 0);
}

/**
 * Polls the end offsets until they reach `target`; returns when (performance.now()) they did, or undefined
 * at the deadline. The poll interval bounds the timing error.
 */
export async function waitForEndOffsets(
  admin: Admin,
  topic: string,
  target: number,
  opts: { timeoutMs: number; intervalMs?: number; onProgress?: (sum: number) => void },
): Promise<{ at: number | undefined; sum: number }> {
  const deadline = performance.now() + opts.timeoutMs;
  let sum = 0;
  let lastGrowth = performance.now();
  while (performance.now() < deadline) {
    const now = await sumEndOffsets(admin, topic);
    const seenAt = performance.now();
    if (now > sum) lastGrowth = seenAt;
    sum = now;
    opts.onProgress?.(sum);
    if (sum >= target) return { at: seenAt, sum };
    // Nothing new for 20 s: capture stopped producing; no point in waiting for the whole timeout.
    if (seenAt - lastGrowth > 20_000) break;
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 25));
  }
  return { at: undefined, sum };
}

export interface TopicScan {
  readonly messages: number;
  /** Last change event value (Avro) per key, for keys accepted by `keepLast`. */
  readonly last: Map<string, Buffer | null>;
  /** Keys accepted by `collect` that appear at least once. */
  readonly seen: Set<string>;
}

/**
 * Reads every partition from the beginning up to the end offsets taken at the start (libs/kafka's bounded
 * reader, through a throwaway group), so nothing is committed anywhere that matters. Per partition, order =
 * produce order: the last message of a key is capture's last event for it.
 */
export async function scanTopic(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  opts: {
    groupId: string;
    keepLast: (key: string) => boolean;
    collect: (key: string) => boolean;
    timeoutMs: number;
    onProgress?: (read: number, total: number) => void;
  },
): Promise<TopicScan> {
  const last = new Map<string, Buffer | null>();
  const seen = new Set<string>();
  const { read } = await readTopicToEnd(kafka, admin, topic, {
    groupPrefix: opts.groupId,
    timeoutMs: opts.timeoutMs,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
    onRecord: (r) => {
      const key = r.key?.toString('latin1') ?? '';
      if (opts.keepLast(key)) last.set(key, r.value);
      if (opts.collect(key)) seen.add(key);
    },
  });
  return { messages: read, last, seen };
}

/** The string value carried by a change event (null for a DELETE, a Kafka tombstone or another type). */
export function stringValueOf(codec: ChangeEventCodec, value: Buffer | null): string | null {
  if (value === null) return null;
  const event = codec.decode(value);
  if (event.op !== 'UPSERT' || event.value?.type !== 'string') return null;
  return event.value.data.toString('latin1');
}

/**
 * Zero loss, read back from the topic: every writer key's last event must carry the last value written
 * (`expected`), and every burst key (`burstKey(0..burstKeys-1)`) must appear at least once.
 */
export async function topicLoss(
  kafka: Kafka,
  admin: Admin,
  topic: string,
  opts: {
    readonly groupId: string;
    readonly writerPrefix: string;
    readonly burstPrefix: string;
    readonly expected: ReadonlyMap<string, string>;
    readonly burstKeys: number;
    readonly burstKey: (i: number) => string;
    readonly onProgress?: (read: number, total: number) => void;
  },
): Promise<LossResult> {
  const scan = await scanTopic(kafka, admin, topic, {
    groupId: opts.groupId,
    keepLast: (k) => k.startsWith(opts.writerPrefix),
    collect: (k) => k.startsWith(opts.burstPrefix),
    timeoutMs: 600_000,
    ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
  });
  const codec = new ChangeEventCodec();
  const lostSample: Array<{ key: string; expected: string; last: string | null }> = [];
  let lost = 0;
  for (const [key, expected] of opts.expected) {
    const last = stringValueOf(codec, scan.last.get(key) ?? null);
    if (last !== expected) {
      lost++;
      if (lostSample.length < 10) lostSample.push({ key, expected, last });
    }
  }
  const burstMissingSample: string[] = [];
  let burstKeysMissing = 0;
  for (let i = 0; i < opts.burstKeys; i++) {
    const key = opts.burstKey(i);
    if (!scan.seen.has(key)) {
      burstKeysMissing++;
      if (burstMissingSample.length < 10) burstMissingSample.push(key);
    }
  }
  return {
    keysChecked: opts.expected.size,
    lost,
    lostSample,
    messagesConsumed: scan.messages,
    burstKeysChecked: opts.burstKeys,
    burstKeysMissing,
    burstMissingSample,
  };
}
