import type { ChangeEvent } from '@cdc/contracts';
import { ATTR, eventToItem, type Item, type ItemOptions } from '@cdc/parity';

/**
 * How a change event becomes a DynamoDB item. The default is the public item layout (docs/item-layout.md);
 * a platform team passes its own to `ApplierModule.forRoot({ mapItem })` for a custom table shape. Return null
 * to leave an event out of this table (counted as `filtered`). A DELETE event must still map to an item (a
 * tombstone, e.g. via `eventToItem`), or a stale replay of the key could resurrect it.
 */
export type ItemMapper = (event: ChangeEvent, ctx: ItemOptions) => Item | null;

export const defaultItemMapper: ItemMapper = (event, ctx) => eventToItem(event, ctx);

/** A mapped item that the conditional write cannot take: a deterministic, permanent error (DLQ). */
export class MappingError extends Error {
  readonly code = 'MAPPING_FAILED';
}

/**
 * Runs the mapper and enforces the two things the apply rules rest on: a string or binary `pk`, and the
 * event's own version in `ver` (the applier sets it, so no mapping can break invariant 2).
 */
export function mapEvent(mapItem: ItemMapper, event: ChangeEvent, ctx: ItemOptions): Item | null {
  let item: Item | null;
  try {
    item = mapItem(event, ctx);
  } catch (err) {
    throw new MappingError(`mapItem threw: ${(err as Error).message}`);
  }
  if (item === null) return null;
  const pk = item[ATTR.pk];
  if (!pk || (pk.S === undefined && pk.B === undefined) || pk.S === '')
    throw new MappingError(`mapItem returned an item without a string or binary "${ATTR.pk}" attribute`);
  return { ...item, [ATTR.ver]: { N: event.version.toString() } };
}
