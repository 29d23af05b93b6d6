import type { Metrics } from '@cdc/observability';

/** Classes that are not part of parity: not decided yet, or left out by policy (as `cdc status` counts). */
const OUTSIDE_PARITY = new Set(['in-flight', 'not-carried']);

/**
 * Parity of a window's classes: matching records over the confirmed ones. An empty window has parity 1 and
 * 0 records, so an alert can tell "idle" from "bad". Pure.
 */
export function windowParity(classes: Readonly<Record<string, number>>): { ratio: number; records: number } {
  let records = 0;
  for (const [verdict, n] of Object.entries(classes)) if (!OUTSIDE_PARITY.has(verdict)) records += n;
  return { ratio: records === 0 ? 1 : (classes.match ?? 0) / records, records };
}

/** Seconds from `at` (epoch ms) to `now`; 0 before the first (`at` undefined) and never negative. Pure. */
export function ageSeconds(at: number | undefined, now: number): number {
  return at === undefined ? 0 : Math.max(0, now - at) / 1000;
}

/** The stream reader's progress, as StreamReader exposes it. */
export interface ReaderProgress {
  readonly openShards: number;
  readonly lastReadAt: number | undefined;
  readonly newestRecordAt: number | undefined;
}

/**
 * Sets the verifier's gauges from the window's classes (the window it publishes for `cdc status`) and from the
 * reader's progress.
 */
export function setStreamGauges(
  metrics: Metrics,
  classes: Readonly<Record<string, number>>,
  reader: ReaderProgress | undefined,
  now = Date.now(),
): void {
  const { ratio, records } = windowParity(classes);
  metrics.verifierParityRatio.set(ratio);
  metrics.verifierWindowRecords.set(records);
  metrics.verifierShards.set(reader?.openShards ?? 0);
  const lastRead = reader?.lastReadAt;
  metrics.verifierStreamLastRead.set(lastRead === undefined ? 0 : lastRead / 1000);
  metrics.verifierStreamNewestRecordAge.set(ageSeconds(reader?.newestRecordAt, now));
}
