import {
  type ChangeEventCodec,
  type DlqEntry,
  type DlqStanding,
  type DlqStatus,
  printableKey,
} from '@cdc/contracts';

/** One record as `cdc dlq list --json` prints it (and `show`, with more). */
export interface DlqRow {
  readonly id: string;
  readonly partition: number;
  readonly offset: string;
  readonly time: string;
  readonly code: string;
  readonly kind: DlqEntry['kind'];
  /** open: `cdc status` counts it; not-carried: explained by policy; accepted / redriven: resolved. */
  readonly status: DlqStatus;
  readonly reason: string;
  /** Printable (escaped) Redis key; keyBase64 holds the exact bytes. */
  readonly key: string;
  readonly keyBase64: string | null;
  readonly size: number;
  readonly rejectedBy: string | null;
  readonly source: DlqEntry['source'];
}

export function toRow(e: DlqEntry, status: DlqStatus): DlqRow {
  return {
    id: e.id,
    partition: e.partition,
    offset: e.offset,
    time: new Date(e.time).toISOString(),
    code: e.code,
    kind: e.kind,
    status,
    reason: e.reason,
    key: e.keyText,
    keyBase64: e.key?.toString('base64') ?? null,
    size: e.size,
    rejectedBy: e.rejectedBy,
    source: e.source,
  };
}

const bytes = (n: number) => (n < 1024 ? `${n} B` : `${(n / 1024).toFixed(1)} KiB`);
const from = (r: DlqRow) =>
  r.source ? `${r.source.topic} ${r.source.partition}:${r.source.offset}` : (r.rejectedBy ?? '-');

/** The human list: a header, one line per record (reason last, whole), then the standing. */
export function formatList(
  topic: string,
  rows: readonly DlqRow[],
  total: number,
  standing: DlqStanding,
): string {
  const head = ['RECORD', 'TIME', 'CODE', 'KIND', 'STATUS', 'SIZE', 'FROM', 'KEY', 'REASON'];
  const cells = rows.map((r) => [
    r.id,
    r.time,
    r.code || '(none)',
    r.kind,
    r.status,
    bytes(r.size),
    from(r),
    r.key,
    r.reason,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...cells.map((c) => (c[i] as string).length)));
  const line = (c: readonly string[]) =>
    c
      .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i] as number)))
      .join('  ')
      .trimEnd();
  const out = [`${topic}: ${total} records`, ''];
  if (rows.length > 0) out.push(line(head), ...cells.map(line), '');
  if (rows.length < total) out.push(`(${rows.length} of ${total} shown)`);
  out.push(summary(standing));
  return `${out.join('\n')}\n`;
}

export function summary(s: DlqStanding): string {
  const open = Object.entries(s.open);
  const openCount = open.reduce((sum, [, n]) => sum + n, 0);
  return (
    `${openCount} open` +
    (open.length > 0 ? ` (${open.map(([c, n]) => `${n} ${c}`).join(', ')})` : '') +
    `, ${s.notCarried} not carried by policy, ${s.accepted} accepted, ${s.redriven} redriven` +
    (openCount > 0 ? '. cdc status fails until each open record is redriven or accepted.' : '.')
  );
}

/** An applier record's value, decoded through the event codec where it can be; always a hex/utf8 preview. */
export interface ValueView {
  readonly bytes: number;
  readonly event?: unknown;
  readonly decodeError?: string;
  readonly hex: string;
  readonly utf8: string;
}

const PREVIEW = 256;

export function viewValue(codec: ChangeEventCodec, value: Buffer | null): ValueView | null {
  if (value === null) return null;
  const preview = value.subarray(0, PREVIEW);
  const more = value.length > PREVIEW ? '…' : '';
  const base = {
    bytes: value.length,
    hex: preview.toString('hex') + more,
    utf8: printableKey(preview) + more,
  };
  try {
    return { ...base, event: jsonSafe(codec.decode(value)) };
  } catch (err) {
    return { ...base, decodeError: (err as Error).message };
  }
}

/** Bytes as printable text, bigints as strings: an event as JSON a person can read. */
export function jsonSafe(v: unknown): unknown {
  if (Buffer.isBuffer(v)) return printableKey(v);
  if (typeof v === 'bigint') return v.toString();
  if (Array.isArray(v)) return v.map(jsonSafe);
  if (v instanceof Map) return Object.fromEntries([...v].map(([k, x]) => [String(jsonSafe(k)), jsonSafe(x)]));
  if (v && typeof v === 'object')
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, jsonSafe(x)]));
  return v;
}

export function formatShow(
  row: DlqRow,
  headers: Readonly<Record<string, string>>,
  value: ValueView | null,
): string {
  const out = [
    `record   ${row.id} (${row.time})`,
    `code     ${row.code || '(none)'} (${row.kind}, ${row.status})`,
    `reason   ${row.reason}`,
    `key      ${row.key}`,
    `from     ${from(row)}`,
    '',
    'headers',
    ...Object.entries(headers).map(([k, v]) => `  ${k}: ${v}`),
    '',
  ];
  if (!value) out.push('value    none (capture records carry the key only)');
  else {
    out.push(`value    ${bytes(value.bytes)}`);
    if (value.event !== undefined) out.push(JSON.stringify(value.event, null, 2));
    else
      out.push(
        `  not a change event: ${value.decodeError ?? ''}`,
        `  utf8 ${value.utf8}`,
        `  hex  ${value.hex}`,
      );
  }
  return `${out.join('\n')}\n`;
}

export interface RedriveResult {
  readonly id: string;
  readonly key: string;
  readonly code: string;
  readonly outcome: 'produced' | 'deleted' | 'refused';
  readonly version: string;
  /** When refused again: the new code and reason (a new DLQ record). */
  readonly newCode?: string;
  readonly reason?: string;
}

export function formatRedrive(
  topic: string,
  results: readonly RedriveResult[],
  skipped: readonly string[],
): string {
  const out: string[] = [];
  for (const r of results) {
    const what =
      r.outcome === 'produced'
        ? `produced version ${r.version} (origin=repair)`
        : r.outcome === 'deleted'
          ? `key gone from Redis: DELETE produced at version ${r.version}`
          : `still refused: ${r.newCode ?? ''} ${r.reason ?? ''} (a new DLQ record; this one stays open)`;
    out.push(`${r.id}  ${r.code}  ${r.key}: ${what}`);
  }
  out.push(...skipped);
  const done = results.filter((r) => r.outcome !== 'refused').length;
  out.push(
    '',
    `${done} of ${results.length} records redriven through ${topic} and marked resolved; ${results.length - done} still refused.`,
  );
  if (done > 0)
    out.push('The applier applies them like any event; cdc dlq list shows any it refuses in turn.');
  return `${out.join('\n')}\n`;
}
