import { type CdcConfig, names } from '@cdc/config';
import type { ItemMapper } from './item-mapper';

/** What a consumer app built on ApplierModule.forRoot may choose; everything else comes from the config. */
export interface ApplierOptions {
  /** Source id whose changes topic to consume (default: CDC_SOURCE_ID). */
  readonly source?: string;
  /** Target table (default: CDC_TABLE, else `cdc_<source>`). */
  readonly table?: string;
  /** Custom item shape (default: the public item layout). */
  readonly mapItem?: ItemMapper;
  /** Consumer group (default: `cdc-applier.<source>.<table>`, so each table has its own offsets). */
  readonly group?: string;
  /** Create the table when missing (default: CDC_CREATE_TABLE). */
  readonly createTable?: boolean;
}

export const APPLIER_OPTIONS = Symbol('APPLIER_OPTIONS');

export interface ApplierTarget {
  readonly source: string;
  readonly topic: string;
  readonly dlqTopic: string;
  readonly table: string;
  readonly group: string;
  readonly createTable: boolean;
}

/** Options over config, with the design's naming rules for whatever a team leaves out. Pure. */
export function resolveTarget(config: CdcConfig, opts: ApplierOptions = {}): ApplierTarget {
  const source = opts.source ?? config.sourceId;
  const sameSource = source === config.sourceId;
  const topic = sameSource ? config.topic : names.topic(source);
  const table = opts.table ?? (sameSource ? config.table : names.table(source));
  const group =
    opts.group ??
    (sameSource && table === config.table ? config.applierGroup : names.applierGroup(source, table));
  return {
    source,
    topic,
    dlqTopic: sameSource ? config.dlqTopic : names.dlqTopic(topic),
    table,
    group,
    createTable: opts.createTable ?? config.createTable,
  };
}
