import type { CdcConfig } from '@cdc/config';
import { type ChangeEvent, ChangeEventCodec } from '@cdc/contracts';
import { createKafka } from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { uniqueId } from './endpoints';
import { waitFor } from './wait';

/**
 * Every change event on the config's topic up to its current end, decoded, per partition in log order
 * (Kafka tombstones skipped). For assertions on what capture produced, not only on what the table kept.
 */
export async function readTopicEvents(config: CdcConfig): Promise<ChangeEvent[]> {
  const kafka = createKafka(config.require('kafka').kafka, createLogger('error'));
  const admin = kafka.admin();
  await admin.connect();
  const ends = await admin.fetchTopicOffsets(config.topic);
  await admin.disconnect();
  const want = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
  const codec = new ChangeEventCodec();
  const events: ChangeEvent[] = [];
  const next = new Map<number, bigint>(ends.map((e) => [e.partition, BigInt(e.low)]));
  const consumer = kafka.consumer({ groupId: uniqueId('test-topic-events') });
  await consumer.connect();
  try {
    await consumer.subscribe({ topic: config.topic, fromBeginning: true });
    await consumer.run({
      eachMessage: ({ partition, message }) => {
        next.set(partition, BigInt(message.offset) + 1n);
        if (message.value) events.push(codec.decode(message.value));
        return Promise.resolve();
      },
    });
    await waitFor(
      `the whole of ${config.topic}`,
      () => ([...want].every(([p, high]) => (next.get(p) ?? 0n) >= high) ? true : undefined),
      { timeoutMs: 60_000, intervalMs: 100 },
    );
    return events;
  } finally {
    await consumer.disconnect();
  }
}

/**
 * Invariant 1 as capture's output shows it, for a single history: with a writer that SETs each key to a
 * globally increasing sequence number (startSequenceWriter), a higher number is a later state, so every event
 * (live, repair, snapshot) carrying it must have a higher version than any event carrying a lower one, however
 * stale or reordered the reads were. Returns the pairs that break that. (Not for histories that lost writes:
 * a key reverted to an older number by a failover is a later state with a lower number.)
 */
export function sequenceVersionRegressions(
  events: readonly ChangeEvent[],
): Array<{ key: string; lower: { seq: number; version: bigint }; higher: { seq: number; version: bigint } }> {
  const byKey = new Map<string, Array<{ seq: number; version: bigint }>>();
  for (const e of events) {
    if (e.value?.type !== 'string') continue;
    const seq = Number(e.value.data.toString());
    if (!Number.isSafeInteger(seq)) continue;
    const key = e.key.toString('latin1');
    byKey.set(key, [...(byKey.get(key) ?? []), { seq, version: e.version }]);
  }
  const out: ReturnType<typeof sequenceVersionRegressions> = [];
  for (const [key, seen] of byKey) {
    seen.sort((a, b) => a.seq - b.seq || (a.version < b.version ? -1 : a.version > b.version ? 1 : 0));
    // Every state must be versioned above the highest version any earlier state got.
    let maxBefore: { seq: number; version: bigint } | undefined;
    type Seen = { seq: number; version: bigint };
    let i = 0;
    while (i < seen.length) {
      const seq = (seen[i] as Seen).seq;
      const group: Seen[] = [];
      for (; i < seen.length && (seen[i] as Seen).seq === seq; i++) group.push(seen[i] as Seen);
      for (const g of group)
        if (maxBefore && g.version <= maxBefore.version) out.push({ key, lower: maxBefore, higher: g });
      const top = group[group.length - 1] as Seen;
      if (!maxBefore || top.version > maxBefore.version) maxBefore = top;
    }
  }
  return out;
}
