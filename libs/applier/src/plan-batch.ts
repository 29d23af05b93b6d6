import {
  type ChangeEvent,
  type ChangeEventCodec,
  ContractError,
  type DlqCode,
  latestPerKey,
} from '@cdc/contracts';
import type { ConsumedMessage } from '@cdc/kafka';

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
      const code = err instanceof ContractError ? err.code : 'UNDECODABLE';
      poison.push({ message, code, reason: (err as Error).message });
    }
  }
  const writes = latestPerKey(
    decoded,
    (d) => d.event.key.toString('latin1'),
    (d) => d.event.version,
  );
  return { writes, coalesced: decoded.length - writes.length, kafkaTombstones, poison };
}
