import type { AttributeValue } from '@aws-sdk/client-dynamodb';
import type { ChangeEvent, Origin, RedisType, RedisValue } from '@cdc/contracts';
import { decodeText, encodeText, utf8OrNull } from './text-escape';

/**
 * The DynamoDB item layout: a public contract (docs/item-layout.md). Apps read these items after cutover and
 * external checkers read them too, so names and encodings change only with a documented migration.
 */
export const ATTR = {
  pk: 'pk',
  ver: 'ver',
  type: 'type',
  val: 'val',
  expireAt: 'expireAt',
  deleted: 'deleted',
  capturedAt: 'capturedAt',
  appliedAt: 'appliedAt',
  origin: 'origin',
  writer: 'writer',
  event: 'event',
} as const;

export type Item = Record<string, AttributeValue>;

export interface ItemOptions {
  /** The replicator's signature, so the verifier can flag writes nobody here made. */
  readonly writer: string;
  /** Epoch ms of the write. */
  readonly appliedAt: number;
  /** How long a tombstone lives (seconds); must be at least the topic's retention so no stale replay resurrects. */
  readonly tombstoneTtlSeconds: number;
}

/** The state an item holds, decoded back into Redis terms. */
export interface ItemState {
  readonly key: Buffer;
  readonly version: bigint;
  readonly deleted: boolean;
  readonly value: RedisValue | null;
  /** Epoch seconds (the table's TTL attribute), or null. */
  readonly expireAtSeconds: number | null;
  readonly capturedAt: number | null;
  readonly appliedAt: number | null;
  readonly origin: Origin | null;
  readonly writer: string | null;
}

export function keyToPk(key: Buffer): string {
  return encodeText(key);
}

export function eventToItem(event: ChangeEvent, opts: ItemOptions): Item {
  const item: Item = {
    [ATTR.pk]: { S: keyToPk(event.key) },
    [ATTR.ver]: { N: event.version.toString() },
    [ATTR.capturedAt]: { N: String(event.capturedAt) },
    [ATTR.appliedAt]: { N: String(opts.appliedAt) },
    [ATTR.origin]: { S: event.origin },
    [ATTR.writer]: { S: opts.writer },
    [ATTR.event]: { S: event.event },
  };
  if (event.value === null) {
    // Tombstone (invariant 3): keeps `ver` so a stale upsert replayed later cannot resurrect the key.
    item[ATTR.deleted] = { BOOL: true };
    item[ATTR.expireAt] = { N: String(Math.floor(opts.appliedAt / 1000) + opts.tombstoneTtlSeconds) };
    return item;
  }
  item[ATTR.type] = { S: event.value.type };
  item[ATTR.val] = valueToAttribute(event.value);
  if (event.expireAt !== null) item[ATTR.expireAt] = { N: String(Math.ceil(event.expireAt / 1000)) };
  return item;
}

/** Strings: S when valid UTF-8, else B. Text positions that must be strings use the lossless escape. */
function bytesToAttribute(bytes: Buffer): AttributeValue {
  const text = utf8OrNull(bytes);
  return text === null ? { B: bytes } : { S: text };
}

function attributeToBytes(av: AttributeValue): Buffer {
  if (av.S !== undefined) return Buffer.from(av.S, 'utf8');
  if (av.B !== undefined) return Buffer.from(av.B);
  throw new Error(`expected S or B, got ${Object.keys(av).join(',')}`);
}

/**
 * DynamoDB numbers span roughly 1e-130..9.99e125 in magnitude; Redis scores are any double (incl. infinities).
 * Scores outside that range are stored as S holding the shortest round-trip text ("+inf", "-inf", "1e+300").
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/HowItWorks.NamingRulesDataTypes.html
 */
const DYNAMO_MAX = 9.999999999999999e125; // the largest double below the true limit (38 nines)
const DYNAMO_MIN = 1e-130;

export function scoreFitsNumber(score: number): boolean {
  const abs = Math.abs(score);
  return Number.isFinite(score) && (abs === 0 || (abs >= DYNAMO_MIN && abs <= DYNAMO_MAX));
}

function scoreToAttribute(score: number): AttributeValue {
  if (scoreFitsNumber(score)) return { N: String(score) };
  return { S: Number.isFinite(score) ? String(score) : score > 0 ? '+inf' : '-inf' };
}

function attributeToScore(av: AttributeValue): number {
  if (av.N !== undefined) return Number(av.N);
  if (av.S === '+inf') return Infinity;
  if (av.S === '-inf') return -Infinity;
  const n = Number(av.S);
  if (av.S === undefined || Number.isNaN(n)) throw new Error('bad zset score attribute');
  return n;
}

export function valueToAttribute(value: RedisValue): AttributeValue {
  switch (value.type) {
    case 'string':
      return bytesToAttribute(value.data);
    case 'hash':
      return { M: Object.fromEntries(value.fields.map(([f, v]) => [encodeText(f), bytesToAttribute(v)])) };
    case 'list':
      return { L: value.items.map(bytesToAttribute) };
    case 'set':
      // Redis never holds an empty set, and DynamoDB cannot store one.
      return { SS: value.members.map(encodeText) };
    case 'zset':
      return { M: Object.fromEntries(value.members.map(([m, s]) => [encodeText(m), scoreToAttribute(s)])) };
  }
}

export function attributeToValue(type: RedisType, av: AttributeValue): RedisValue {
  switch (type) {
    case 'string':
      return { type, data: attributeToBytes(av) };
    case 'hash':
      return {
        type,
        fields: Object.entries(av.M ?? {}).map(([f, v]) => [decodeText(f), attributeToBytes(v)] as const),
      };
    case 'list':
      return { type, items: (av.L ?? []).map(attributeToBytes) };
    case 'set':
      return { type, members: (av.SS ?? []).map(decodeText) };
    case 'zset':
      return {
        type,
        members: Object.entries(av.M ?? {}).map(([m, s]) => [decodeText(m), attributeToScore(s)] as const),
      };
    case 'stream':
      throw new Error('stream values are not stored in items');
  }
}

export function itemToState(item: Item): ItemState {
  const pk = item[ATTR.pk]?.S;
  const ver = item[ATTR.ver]?.N;
  if (pk === undefined || ver === undefined)
    throw new Error('item has no pk/ver: not written by this replicator');
  const deleted = item[ATTR.deleted]?.BOOL === true;
  const type = item[ATTR.type]?.S as RedisType | undefined;
  const val = item[ATTR.val];
  const num = (name: string): number | null => {
    const n = item[name]?.N;
    return n === undefined ? null : Number(n);
  };
  return {
    key: decodeText(pk),
    version: BigInt(ver),
    deleted,
    value: !deleted && type && val ? attributeToValue(type, val) : null,
    expireAtSeconds: deleted ? null : num(ATTR.expireAt),
    capturedAt: num(ATTR.capturedAt),
    appliedAt: num(ATTR.appliedAt),
    origin: (item[ATTR.origin]?.S as Origin | undefined) ?? null,
    writer: item[ATTR.writer]?.S ?? null,
  };
}
