import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import {
  classify,
  type Item,
  type ItemState,
  itemToState,
  type ParityClass,
  type RedisState,
} from '@cdc/parity';
import type { StreamRecord } from '@cdc/dynamo';

/** The item a stream record says the table now holds (null after a REMOVE, e.g. a TTL deletion). */
export function recordImage(record: StreamRecord): { image: Item | null; keyImage: Item | undefined } {
  const toItem = (img: Record<string, unknown> | undefined) =>
    img as Record<string, AttributeValue> | undefined;
  const newImage = toItem(record.dynamodb?.NewImage);
  return {
    image: newImage ?? null,
    keyImage: newImage ?? toItem(record.dynamodb?.OldImage) ?? toItem(record.dynamodb?.Keys),
  };
}

/** Items without our layout (no pk/ver) were written by someone else. */
export function safeState(item: Item | null): ItemState | null | 'foreign' {
  if (!item) return null;
  try {
    return itemToState(item);
  } catch {
    return 'foreign';
  }
}

export function check(state: ItemState | null | 'foreign', redis: RedisState, writer: string): ParityClass {
  return state === 'foreign' ? 'foreign' : classify(state, redis, writer);
}
