import { type CdcConfig } from '@cdc/config';
import {
  createDynamoClient,
  createStreamsClient,
  describeTable,
  MemoryCheckpoints,
  StreamReader,
} from '@cdc/dynamo';
import { itemToState, type ItemState } from '@cdc/parity';
import { waitFor } from './wait';

export interface ItemHistory {
  /** Every image each key took, in stream order (key as UTF-8 text). */
  readonly byKey: Map<string, ItemState[]>;
  stop(): Promise<void>;
}

/**
 * Watches the table's DynamoDB stream from its start and records every image per key: the observable history
 * that "no item's version ever decreases" is asserted on.
 */
export async function watchItemHistory(config: CdcConfig): Promise<ItemHistory> {
  const client = createDynamoClient(config.dynamo);
  const info = await waitFor(
    'the table and its stream',
    async () => (await describeTable(client, config.table)) ?? undefined,
    { accept: (t) => t.streamArn !== undefined, timeoutMs: 60_000 },
  );
  client.destroy();
  const byKey = new Map<string, ItemState[]>();
  const streams = createStreamsClient(config.dynamo);
  const reader = new StreamReader(streams, info.streamArn as string, {
    startAt: 'TRIM_HORIZON',
    pollIntervalMs: 50,
    discoveryIntervalMs: 500,
    checkpoints: new MemoryCheckpoints(),
    onError: () => undefined,
    onRecords: (records) => {
      for (const r of records) {
        const image = r.dynamodb?.NewImage;
        if (!image) continue;
        const state = itemToState(image);
        const key = state.key.toString();
        byKey.set(key, [...(byKey.get(key) ?? []), state]);
      }
      return Promise.resolve();
    },
  });
  reader.start();
  return {
    byKey,
    stop: async () => {
      await reader.stop();
      streams.destroy();
    },
  };
}

/** Pairs (previous, next) of every key's history where the version did not strictly grow. */
export function versionRegressions(history: ItemHistory): Array<{ key: string; from: bigint; to: bigint }> {
  const out: Array<{ key: string; from: bigint; to: bigint }> = [];
  for (const [key, states] of history.byKey) {
    for (let i = 1; i < states.length; i++) {
      const from = (states[i - 1] as ItemState).version;
      const to = (states[i] as ItemState).version;
      if (to <= from) out.push({ key, from, to });
    }
  }
  return out;
}
