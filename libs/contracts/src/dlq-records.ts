import { DLQ_CODES, DLQ_HEADERS as H, type DlqCode, type DlqKind, dlqKind, isDlqCode } from './dlq';

/**
 * DLQ records as `cdc dlq` and `cdc status` read them back, and the resolutions recorded against them (accepted
 * by an operator, or redriven successfully). Pure: the Kafka reading and writing lives in libs/kafka.
 */

/** One record as read from the DLQ topic (kafkajs' shape, without kafkajs). */
export interface RawDlqRecord {
  readonly partition: number;
  readonly offset: string;
  /** Epoch ms, as a string (Kafka's record timestamp). */
  readonly timestamp: string;
  readonly key: Buffer | null;
  readonly value: Buffer | null;
  readonly headers?: Readonly<Record<string, Buffer | string | ReadonlyArray<Buffer | string> | undefined>>;
}

export interface DlqEntry {
  /** "partition:offset" on the DLQ topic: how every `cdc dlq` command names a record. */
  readonly id: string;
  readonly partition: number;
  readonly offset: string;
  /** Epoch ms the record was written to the DLQ. */
  readonly time: number;
  /** A code of DLQ_CODES, or whatever an unknown writer put there ('' when none). */
  readonly code: string;
  readonly reason: string;
  readonly kind: DlqKind;
  /** 'capture' | 'applier', or null from a foreign writer. */
  readonly rejectedBy: string | null;
  /** The Redis key (the record's key), null when the record has none. */
  readonly key: Buffer | null;
  /** The key for a terminal: printable ASCII as is, anything else escaped (\xNN, \\). */
  readonly keyText: string;
  /** Bytes of the record's value (the original event for applier records; 0 for capture's). */
  readonly size: number;
  /** Where an applier record came from on the changes topic; null for capture's. */
  readonly source: { readonly topic: string; readonly partition: number; readonly offset: string } | null;
  /** Every header, as text (binary headers escaped like the key). */
  readonly headers: Readonly<Record<string, string>>;
}

/** Printable ASCII stays; backslash and every other byte are escaped, so the text is unambiguous. */
export function printableKey(bytes: Buffer | null): string {
  if (bytes === null) return '(no key)';
  let out = '';
  for (const b of bytes) {
    if (b === 0x5c) out += '\\\\';
    else if (b >= 0x20 && b < 0x7f) out += String.fromCharCode(b);
    else out += `\\x${b.toString(16).padStart(2, '0')}`;
  }
  return out;
}

function headerText(v: Buffer | string | ReadonlyArray<Buffer | string> | undefined): string | undefined {
  if (v === undefined) return undefined;
  const one = Array.isArray(v) ? (v as ReadonlyArray<Buffer | string>)[0] : (v as Buffer | string);
  if (one === undefined) return undefined;
  if (typeof one === 'string') return one;
  const text = one.toString('utf8');
  return Buffer.from(text, 'utf8').equals(one) ? text : printableKey(one);
}

export function toDlqEntry(raw: RawDlqRecord): DlqEntry {
  const headers: Record<string, string> = {};
  for (const [name, v] of Object.entries(raw.headers ?? {})) {
    const text = headerText(v);
    if (text !== undefined) headers[name] = text;
  }
  const code = headers[H.code] ?? '';
  const sourceTopic = headers[H.sourceTopic];
  const sourcePartition = Number(headers[H.sourcePartition]);
  const sourceOffset = headers[H.sourceOffset];
  return {
    id: `${raw.partition}:${raw.offset}`,
    partition: raw.partition,
    offset: raw.offset,
    time: Number(raw.timestamp),
    code,
    reason: headers[H.reason] ?? '',
    kind: dlqKind(code),
    rejectedBy: headers[H.rejectedBy] ?? null,
    key: raw.key,
    keyText: printableKey(raw.key),
    size: raw.value?.length ?? 0,
    source:
      sourceTopic !== undefined && Number.isInteger(sourcePartition) && sourceOffset !== undefined
        ? { topic: sourceTopic, partition: sourcePartition, offset: sourceOffset }
        : null,
    headers,
  };
}

/** "3:1207" → { partition: 3, offset: "1207" }; null when it is not that shape. */
export function parseRecordId(text: string): { partition: number; offset: string } | null {
  const m = /^(\d+):(\d+)$/.exec(text.trim());
  if (!m) return null;
  return { partition: Number(m[1]), offset: BigInt(m[2] as string).toString() };
}

/**
 * What the accepted topic holds per record ("partition:offset" is its Kafka key). code and key repeat the
 * record's, so a resolution never excuses a different record that got the same offset (a recreated topic).
 */
export interface DlqResolution {
  readonly code: string;
  /** The record's keyText. */
  readonly key: string;
  /** Epoch ms. */
  readonly acceptedAt: number;
  readonly note?: string;
  /** accepted: an operator looked and accepted it; redriven: re-captured, and capture produced the key. */
  readonly resolution: 'accepted' | 'redriven';
}

export function encodeResolution(r: DlqResolution): Buffer {
  return Buffer.from(JSON.stringify(r), 'utf8');
}

/** null for anything that is not a resolution this code wrote (a foreign or broken value is no excuse). */
export function parseResolution(value: Buffer | null): DlqResolution | null {
  if (value === null) return null;
  try {
    const v = JSON.parse(value.toString('utf8')) as Partial<DlqResolution>;
    if (typeof v.code !== 'string' || typeof v.key !== 'string' || typeof v.acceptedAt !== 'number')
      return null;
    const resolution = v.resolution ?? 'accepted';
    if (resolution !== 'accepted' && resolution !== 'redriven') return null;
    return {
      code: v.code,
      key: v.key,
      acceptedAt: v.acceptedAt,
      resolution,
      ...(typeof v.note === 'string' ? { note: v.note } : {}),
    };
  } catch {
    return null;
  }
}

/** How `cdc status` sees one record: open ones fail the DLQ check; the others are explained. */
export type DlqStatus = 'open' | 'not-carried' | 'accepted' | 'redriven';

export function dlqStatus(entry: DlqEntry, resolutions: ReadonlyMap<string, DlqResolution>): DlqStatus {
  const r = resolutions.get(entry.id);
  if (r && r.code === entry.code && r.key === entry.keyText) return r.resolution;
  return entry.kind === 'not-carried' ? 'not-carried' : 'open';
}

/** The DLQ as the readiness check judges it. */
export interface DlqStanding {
  readonly records: number;
  readonly notCarried: number;
  readonly accepted: number;
  readonly redriven: number;
  /** Records nothing explains yet, per code. */
  readonly open: Readonly<Record<string, number>>;
}

export function dlqStanding(
  entries: Iterable<DlqEntry>,
  resolutions: ReadonlyMap<string, DlqResolution>,
): DlqStanding {
  let records = 0;
  const counts = { 'not-carried': 0, accepted: 0, redriven: 0 };
  const open: Record<string, number> = {};
  for (const e of entries) {
    records++;
    const s = dlqStatus(e, resolutions);
    if (s === 'open') open[e.code || '(none)'] = (open[e.code || '(none)'] ?? 0) + 1;
    else counts[s]++;
  }
  return {
    records,
    notCarried: counts['not-carried'],
    accepted: counts.accepted,
    redriven: counts.redriven,
    open,
  };
}

/**
 * Codes whose cause an operator can fix and then redrive (the fix text says so): a redrive with no selection
 * takes only these. Redriving the others would only refuse again (a stream stays a stream) or re-read a key
 * that a foreign producer made up.
 */
export const REDRIVE_AFTER_FIX: ReadonlySet<DlqCode> = new Set<DlqCode>(
  (Object.keys(DLQ_CODES) as DlqCode[]).filter((c) => DLQ_CODES[c].fix.includes('cdc dlq redrive')),
);

/** The fix for a code as advice text (unknown codes: the record came from a writer this code does not know). */
export function dlqFix(code: string): string {
  return isDlqCode(code) ? DLQ_CODES[code].fix : 'an unknown writer: inspect it with cdc dlq show';
}
