import {
  type DlqEntry,
  type DlqResolution,
  type DlqStatus,
  dlqStatus,
  isDlqCode,
  parseRecordId,
  REDRIVE_AFTER_FIX,
} from '@cdc/contracts';

/** Which records a `cdc dlq accept | redrive` means. */
export type Selection =
  | { readonly by: 'first'; readonly n: number }
  | { readonly by: 'ids'; readonly ids: readonly string[] }
  | { readonly by: 'code'; readonly code: string }
  | { readonly by: 'default' };

/** `N`, `partition:offset ...`, or `--code C`: one form at a time. Throws a message naming the bad argument. */
export function parseSelection(args: readonly string[], code: string | undefined): Selection {
  if (code !== undefined) {
    if (args.length > 0) throw new Error(`give either --code or records (${args.join(' ')}), not both`);
    if (!isDlqCode(code)) throw new Error(`--code ${code} is not a DLQ code (see cdc dlq list)`);
    return { by: 'code', code };
  }
  if (args.length === 0) return { by: 'default' };
  if (args.length === 1 && /^\d+$/.test(args[0] as string)) {
    const n = Number(args[0]);
    if (!Number.isSafeInteger(n) || n < 1)
      throw new Error(`N must be a whole number from 1, not "${args[0]}"`);
    return { by: 'first', n };
  }
  const ids = args.map((a) => {
    const id = parseRecordId(a);
    if (!id) throw new Error(`"${a}" is not a record: give N, or partition:offset as cdc dlq list shows it`);
    return `${id.partition}:${id.offset}`;
  });
  return { by: 'ids', ids: [...new Set(ids)] };
}

export interface Selected {
  readonly entries: DlqEntry[];
  /** Ids asked for that the DLQ does not hold (a typo, or removed by retention). */
  readonly missing: string[];
}

export const ACCEPT_WHICH =
  'say which records to accept: N (the first N open), partition:offset ..., or --code C';

const resolved = (s: DlqStatus) => s === 'accepted' || s === 'redriven';

/**
 * accept: N = the first N open records (the ones `cdc status` counts, in list order); --code = that code's
 * records not resolved yet; ids = exactly those. Nothing by default: accepting is a decision.
 */
export function selectToAccept(
  entries: readonly DlqEntry[],
  resolutions: ReadonlyMap<string, DlqResolution>,
  selection: Selection,
): Selected {
  const status = (e: DlqEntry) => dlqStatus(e, resolutions);
  switch (selection.by) {
    case 'default':
      throw new Error(ACCEPT_WHICH);
    case 'first':
      return { entries: entries.filter((e) => status(e) === 'open').slice(0, selection.n), missing: [] };
    case 'code':
      return {
        entries: entries.filter((e) => e.code === selection.code && !resolved(status(e))),
        missing: [],
      };
    case 'ids':
      return byIds(entries, selection.ids);
  }
}

/**
 * redrive: by default (and for N: the first N) the unresolved records whose code's fix is a redrive
 * (VALUE_TOO_LARGE after raising the limit, apply refusals after fixing the mapping); --code and ids name any
 * record. Records without a key cannot be re-captured and are left out by every form.
 */
export function selectToRedrive(
  entries: readonly DlqEntry[],
  resolutions: ReadonlyMap<string, DlqResolution>,
  selection: Selection,
): Selected & { readonly keyless: DlqEntry[] } {
  const candidates = entries.filter((e) => !resolved(dlqStatus(e, resolutions)));
  const fixable = candidates.filter((e) => (REDRIVE_AFTER_FIX as ReadonlySet<string>).has(e.code));
  const picked: Selected =
    selection.by === 'default'
      ? { entries: fixable, missing: [] }
      : selection.by === 'first'
        ? { entries: fixable.slice(0, selection.n), missing: [] }
        : selection.by === 'code'
          ? { entries: candidates.filter((e) => e.code === selection.code), missing: [] }
          : byIds(entries, selection.ids);
  return {
    entries: picked.entries.filter((e) => e.key !== null),
    keyless: picked.entries.filter((e) => e.key === null),
    missing: picked.missing,
  };
}

function byIds(entries: readonly DlqEntry[], ids: readonly string[]): Selected {
  const byId = new Map(entries.map((e) => [e.id, e]));
  return {
    entries: ids.flatMap((id) => byId.get(id) ?? []),
    missing: ids.filter((id) => !byId.has(id)),
  };
}

/** Distinct keys in first-seen order: one re-capture per key, however many records it has. */
export function distinctKeys(entries: readonly DlqEntry[]): Buffer[] {
  const seen = new Map<string, Buffer>();
  for (const e of entries)
    if (e.key && !seen.has(e.key.toString('latin1'))) seen.set(e.key.toString('latin1'), e.key);
  return [...seen.values()];
}
