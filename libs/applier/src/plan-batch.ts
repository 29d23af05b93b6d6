import { type ChangeEvent, type ChangeEventCodec, type DlqCode, latestPerKey } from '@cdc/contracts';
import type { ConsumedMessage } from '@cdc/kafka';
import { decideFailure } from './failure-policy';

export interface PoisonMessage {
  readonly message: ConsumedMessage;
  readonly code: DlqCode;
  readonly reason: string;
}

export interface BatchPlan {
  /** The highest-version event per key (with the message it came in): the only writes this batch needs. */
  readonly writes: Array<{ readonly event: ChangeEvent; readonly message: ConsumedMessage }>;
  /** Events superseded inside the batch by a higher version of the same key. */
  readonly coalesced: number;
  /** Kafka tombstones (null values): compaction markers, nothing to apply. */
  readonly kafkaTombstones: number;
  /** Messages that can never apply: they go to the DLQ with the reason. */
  readonly poison: PoisonMessage[];
}

/** Pure: decodes a fetched batch and decides what to write. */
export function planBatch(messages: readonly ConsumedMessage[], codec: ChangeEventCodec): BatchPlan {
  const decoded: Array<{ event: ChangeEvent; message: ConsumedMessage }> = [];
  const poison: PoisonMessage[] = [];
  let kafkaTombstones = 0;
  for (const message of messages) {
    if (message.value === null) {
      kafkaTombstones++;
      continue;
    }
    try {
      decoded.push({ event: codec.decode(message.value), message });
    } catch (err) {
      // Bytes never decode differently: the policy sends every decode failure to the DLQ with its code.
      const decision = decideFailure(err, { stage: 'decode' });
      if (decision.action !== 'dlq') throw err;
      poison.push({ message, code: decision.code, reason: decision.reason });
    }
  }
  const writes = latestPerKey(
    decoded,
    (d) => d.event.key.toString('latin1'),
    (d) => d.event.version,
  );
  return { writes, coalesced: decoded.length - writes.length, kafkaTombstones, poison };
}
