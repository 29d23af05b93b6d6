import type { CaptureRejectionCode } from '@cdc/contracts';
import type { ScanSummary } from '@cdc/redis';
import type { Verdict } from '../parity-ledger';

/** A scan leaves a key still in flight at its wait bound as in-flight (rerun later), never stuck. */
export type ScanVerdict = Exclude<Verdict, 'stuck'>;

/** Every class a key can end in after the scan; the mismatch classes are the confirmed ones. */
export const VERDICTS = [
  'match',
  'in-flight',
  'not-carried',
  'missing',
  'extra',
  'value',
  'type',
  'ttl',
  'foreign',
] as const satisfies readonly ScanVerdict[];
export const MISMATCH_CLASSES = ['missing', 'extra', 'value', 'type', 'ttl', 'foreign'] as const;
export type MismatchClass = (typeof MISMATCH_CLASSES)[number];

/** Running totals of a scan; saved in the checkpoint so a resumed run reports the whole table. */
export interface ScanCounts {
  /** DynamoDB items read (all of them, tombstones and keys outside --match included). */
  itemsScanned: number;
  /** Redis keys returned by SCAN. */
  keysScanned: number;
  /** Tombstones whose key is absent from Redis too: absent on both sides, so not a key to check. */
  tombstones: number;
  classes: Record<ScanVerdict, number>;
  /** Not-carried keys per DLQ code (UNSUPPORTED_TYPE: streams, VALUE_TOO_LARGE: over the size limit). */
  notCarried: Partial<Record<CaptureRejectionCode, number>>;
  /** Keys re-captured through the log by --repair. */
  repaired: number;
  /** First-look mismatches re-read after the grace period (each then counted in its confirmed class). */
  rechecked: number;
  /** The first few keys of each class but match (item `pk` text: the lossless escape for binary keys). */
  samples: Partial<Record<ScanVerdict, string[]>>;
}

export function emptyCounts(): ScanCounts {
  return {
    itemsScanned: 0,
    keysScanned: 0,
    tombstones: 0,
    classes: Object.fromEntries(VERDICTS.map((v) => [v, 0])) as Record<ScanVerdict, number>,
    notCarried: {},
    repaired: 0,
    rechecked: 0,
    samples: {},
  };
}

export function recordVerdict(
  counts: ScanCounts,
  verdict: ScanVerdict,
  pk: string,
  sampleLimit: number,
  code?: CaptureRejectionCode,
): void {
  counts.classes[verdict]++;
  if (code) counts.notCarried[code] = (counts.notCarried[code] ?? 0) + 1;
  if (verdict === 'match') return;
  const list = (counts.samples[verdict] ??= []);
  if (list.length < sampleLimit) list.push(pk);
}

/** Adds a committed page's counts into the run's totals. */
export function mergeCounts(into: ScanCounts, page: ScanCounts, sampleLimit: number): void {
  into.itemsScanned += page.itemsScanned;
  into.keysScanned += page.keysScanned;
  into.tombstones += page.tombstones;
  into.repaired += page.repaired;
  into.rechecked = (into.rechecked ?? 0) + (page.rechecked ?? 0); // checkpoints written before the field
  // Checkpoints written before a class or field existed lack it.
  into.notCarried ??= {};
  for (const [code, n] of Object.entries(page.notCarried ?? {}) as Array<[CaptureRejectionCode, number]>)
    into.notCarried[code] = (into.notCarried[code] ?? 0) + n;
  for (const v of VERDICTS) {
    into.classes[v] = (into.classes[v] ?? 0) + (page.classes[v] ?? 0);
    const extra = page.samples[v];
    if (!extra) continue;
    const list = (into.samples[v] ??= []);
    list.push(...extra.slice(0, Math.max(0, sampleLimit - list.length)));
  }
}

/** Keys the scan classified in scope of parity: every class but not-carried. */
export function checkedOf(classes: Readonly<Record<ScanVerdict, number>>): number {
  return VERDICTS.reduce((n, v) => (v === 'not-carried' ? n : n + (classes[v] ?? 0)), 0);
}

export function mismatchesOf(classes: Readonly<Record<ScanVerdict, number>>): number {
  return MISMATCH_CLASSES.reduce((n, v) => n + classes[v], 0);
}

/**
 * Share of checked keys proven to match, in percent, floored to 4 decimals so that 99.99995 never shows as 100.
 * In-flight keys are neither proven nor disproven: they are not parity (a table behind the applier must not
 * read 100%), nor confirmed mismatches (mismatchesOf). No keys at all is 100. Not-carried keys (left out by
 * policy) are not checked keys: they count neither way.
 */
export function parityPct(classes: Readonly<Record<ScanVerdict, number>>): number {
  const checked = checkedOf(classes);
  if (checked === 0) return 100;
  return Math.floor(((classes.match ?? 0) / checked) * 1e6) / 1e4;
}

/**
 * "Nines" of a fraction: -log10(bad / total), floored to one decimal (99.9 % = 3 nines, 99.95 % = 3.3). With no
 * bad key the scan proves only what its size can resolve: at least log10(total) nines (`atLeast`).
 */
export interface Nines {
  readonly nines: number;
  readonly atLeast: boolean;
}

export function nines(bad: number, total: number): Nines | null {
  if (total <= 0) return null;
  if (bad <= 0) return { nines: floor1(Math.log10(total)), atLeast: true };
  return { nines: floor1(-Math.log10(bad / total)), atLeast: false };
}

// The epsilon keeps log10(1000) = 2.9999999999999996 from flooring to 2.9.
const floor1 = (x: number): number => Math.max(0, Math.floor(x * 10 + 1e-9) / 10);

export interface ScanMeta {
  readonly sourceId: string;
  readonly table: string;
  readonly match: string | null;
  readonly segments: number;
  readonly startedAt: number;
  readonly finishedAt: number;
  readonly completed: boolean;
  readonly resumed: boolean;
  /** Why the pipeline's progress could not be read at some look (Kafka unreachable): nothing was confirmed then. */
  readonly progressUnknown?: string | null;
}

export interface ScanReport extends ScanMeta {
  readonly durationMs: number;
  readonly itemsScanned: number;
  readonly keysScanned: number;
  readonly tombstones: number;
  /** Keys classified: present on at least one side (a live item, or a Redis key), not-carried ones excepted. */
  readonly checked: number;
  readonly classes: Readonly<Record<ScanVerdict, number>>;
  /** Keys left out by policy, per DLQ code: excluded from parity, never repaired (also in classes). */
  readonly notCarried: Readonly<Partial<Record<CaptureRejectionCode, number>>>;
  /** Confirmed mismatches (every class but match, in-flight and not-carried). */
  readonly mismatches: number;
  /** Keys neither proven nor disproven: the pipeline had not passed them when the scan looked (rerun later). */
  readonly inFlight: number;
  readonly parityPct: number;
  readonly nines: { readonly overall: Nines | null; readonly byClass: Record<MismatchClass, Nines | null> };
  readonly repaired: number;
  /** First-look mismatches that needed the grace-period recheck (in-flight writes, or real mismatches). */
  readonly rechecked: number;
  readonly samples: Partial<Record<ScanVerdict, readonly string[]>>;
  readonly progressUnknown: string | null;
  /**
   * `parity`: every checked key matches; `mismatches`: some confirmed (takes precedence); `in-flight`: none
   * confirmed but some not proven yet; `incomplete`: stopped before the end.
   */
  readonly verdict: 'parity' | 'mismatches' | 'in-flight' | 'incomplete';
}

export function buildReport(meta: ScanMeta, counts: ScanCounts): ScanReport {
  const checked = checkedOf(counts.classes);
  const mismatches = mismatchesOf(counts.classes);
  const inFlight = counts.classes['in-flight'] ?? 0;
  return {
    ...meta,
    durationMs: meta.finishedAt - meta.startedAt,
    itemsScanned: counts.itemsScanned,
    keysScanned: counts.keysScanned,
    tombstones: counts.tombstones,
    checked,
    classes: { ...emptyCounts().classes, ...counts.classes },
    notCarried: { ...counts.notCarried },
    mismatches,
    inFlight,
    parityPct: parityPct(counts.classes),
    nines: {
      overall: nines(mismatches, checked),
      byClass: Object.fromEntries(
        MISMATCH_CLASSES.map((c) => [c, nines(counts.classes[c], checked)]),
      ) as Record<MismatchClass, Nines | null>,
    },
    repaired: counts.repaired,
    rechecked: counts.rechecked ?? 0,
    samples: counts.samples,
    progressUnknown: meta.progressUnknown ?? null,
    verdict: !meta.completed
      ? 'incomplete'
      : mismatches > 0
        ? 'mismatches'
        : inFlight > 0
          ? 'in-flight'
          : 'parity',
  };
}

/** What `cdc status` reads back (controlKeys.lastScan). */
export function toScanSummary(report: ScanReport): ScanSummary {
  return {
    finishedAt: report.finishedAt,
    checked: report.checked,
    classes: report.classes,
    parityPct: report.parityPct,
    mismatches: report.mismatches,
    inFlight: report.inFlight,
    repaired: report.repaired,
  };
}

const showNines = (n: Nines | null): string =>
  n === null ? '-' : `${n.atLeast ? '≥ ' : ''}${n.nines.toFixed(1)} nines`;

/** The readable summary printed by `cdc verify` (the JSON report carries the same numbers). */
export function formatSummary(r: ScanReport): string {
  const lines = [
    `${r.completed ? 'Verified' : 'Stopped verifying'} table ${r.table} against Redis` +
      `${r.match ? ` (keys matching ${r.match})` : ''}: ${r.checked} keys checked in ` +
      `${(r.durationMs / 1000).toFixed(1)} s (${r.itemsScanned} items, ${r.keysScanned} Redis keys scanned` +
      `${r.tombstones > 0 ? `, ${r.tombstones} tombstones of deleted keys` : ''}).`,
    `Parity: ${r.parityPct}% proven (${r.mismatches} confirmed mismatches, ${showNines(r.nines.overall)}` +
      `${r.inFlight > 0 ? `; ${r.inFlight} keys still in flight, not proven either way` : ''}).`,
    '',
    '  class        keys  nines',
  ];
  for (const v of VERDICTS) {
    const n = v === 'match' || v === 'in-flight' || v === 'not-carried' ? '' : showNines(r.nines.byClass[v]);
    const sample = r.samples[v]?.length ? `  e.g. ${r.samples[v]?.slice(0, 3).join(', ')}` : '';
    lines.push(`  ${v.padEnd(11)} ${String(r.classes[v]).padStart(5)}  ${n}${sample}`);
  }
  const notCarried = r.classes['not-carried'];
  if (notCarried > 0) {
    const codes = Object.entries(r.notCarried)
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([code, n]) => `${n} ${code}`)
      .join(', ');
    lines.push(
      '',
      `Not carried: ${notCarried} keys left out by policy (${codes}): not in the parity figure, not repairable;` +
        ' see them with cdc dlq list (docs/item-layout.md, "Keys capture does not carry").',
    );
  }
  if (r.rechecked > 0)
    lines.push('', `Rechecked after the grace period: ${r.rechecked} first-look mismatches.`);
  if (r.repaired > 0) lines.push('', `Repaired: ${r.repaired} keys re-captured through the log.`);
  if (r.progressUnknown)
    lines.push(
      '',
      `Warning: the pipeline's progress could not be read (${r.progressUnknown}): no mismatch could be ` +
        'confirmed or ruled out while it was unknown; those keys are in flight. Check KAFKA_BROKERS and that ' +
        'Kafka answers, then run cdc verify again.',
    );
  return `${lines.join('\n')}\n`;
}

/** What to do about keys a complete scan left in flight (no confirmed mismatch, but not proven either). */
export function inFlightAdvice(inFlight: number): string {
  return (
    `Not proven: ${inFlight} keys still in flight (the applier had not passed them when the scan looked, or its ` +
    'progress was unknown). This is not parity yet: check npx cdc status (consumer-lag) until the applier ' +
    'caught up, then run npx cdc verify again.'
  );
}
