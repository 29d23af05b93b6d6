/** Pure arithmetic of `cdc bench applier`: drain rates from commit samples, lags, ratios, the final-state check. */
import { ATTR, type Item } from '@cdc/parity';
import { median, quantile, ratePerSecond } from './stats';

/** The consumer group's committed offsets summed over partitions, when they were seen to change. */
export interface CommitSample {
  readonly atMs: number;
  readonly committed: number;
}

export interface DrainRate {
  /** Events committed between the first and the last commit seen. */
  readonly windowEvents: number;
  readonly windowMs: number;
  readonly eventsPerS: number;
  /** Commit samples seen (a rate needs at least two). */
  readonly commits: number;
}

/**
 * Events per second from the first commit to the last one. The first batch (group join, the applier's own JIT
 * warm-up) is left out: the rate counts only what was committed after the first commit. NaN with fewer than
 * two commits (the whole backlog fit in one batch: use more events).
 */
export function drainRate(samples: readonly CommitSample[]): DrainRate {
  const withData = samples.filter((s) => s.committed > 0);
  const first = withData[0];
  const last = withData[withData.length - 1];
  if (!first || !last || withData.length < 2)
    return { windowEvents: 0, windowMs: 0, eventsPerS: Number.NaN, commits: withData.length };
  const windowMs = last.atMs - first.atMs;
  const windowEvents = last.committed - first.committed;
  return {
    windowEvents,
    windowMs: Math.round(windowMs),
    eventsPerS: ratePerSecond(windowEvents, windowMs),
    commits: withData.length,
  };
}

/** What the applier did with the events, from its cdc_applier_events_total{outcome}. */
export interface Outcomes {
  readonly applied: number;
  readonly stale: number;
  readonly duplicate: number;
  readonly coalesced: number;
}

export function outcomesFrom(byLabel: Readonly<Record<string, number>>): Outcomes {
  return {
    applied: byLabel.applied ?? 0,
    stale: byLabel.stale ?? 0,
    duplicate: byLabel.duplicate ?? 0,
    coalesced: byLabel.coalesced ?? 0,
  };
}

/** Outcomes between two cumulative readings of the same applier. */
export function outcomesDelta(after: Outcomes, before: Outcomes): Outcomes {
  return {
    applied: after.applied - before.applied,
    stale: after.stale - before.stale,
    duplicate: after.duplicate - before.duplicate,
    coalesced: after.coalesced - before.coalesced,
  };
}

/** DynamoDB writes issued (a stale or duplicate event is a conditional write that failed, still a write). */
export const dynamoWrites = (o: Outcomes): number => o.applied + o.stale + o.duplicate;

/** DynamoDB writes per source event; NaN when there were no events. */
export const writesPerEvent = (o: Outcomes, events: number): number =>
  events > 0 ? dynamoWrites(o) / events : Number.NaN;

/** Per pair a ÷ b, and the median of those ratios (drift on the shared box hits both sides of a pair alike). */
export function pairRatios(pairs: ReadonlyArray<{ a: number; b: number }>): {
  ratios: number[];
  median: number;
} {
  const ratios = pairs.map((p) => (p.b > 0 ? p.a / p.b : Number.NaN));
  return { ratios, median: median(ratios) };
}

export interface Quantiles {
  readonly count: number;
  readonly p50Ms?: number;
  readonly p99Ms?: number;
  readonly maxMs?: number;
}

export function quantilesOf(values: readonly number[]): Quantiles {
  const round = (n: number | undefined) => (n === undefined ? undefined : Math.round(n * 10) / 10);
  const p50 = round(quantile(values, 0.5));
  const p99 = round(quantile(values, 0.99));
  const max = round(quantile(values, 1));
  return {
    count: values.length,
    ...(p50 !== undefined ? { p50Ms: p50 } : {}),
    ...(p99 !== undefined ? { p99Ms: p99 } : {}),
    ...(max !== undefined ? { maxMs: max } : {}),
  };
}

export interface LagFigures {
  /** Redis write → item written (appliedAt). */
  readonly endToEnd: Quantiles;
  /** Redis write → capture's read (capturedAt). */
  readonly capture: Quantiles;
  /** Capture's read → the applier's write (appliedAt − capturedAt). */
  readonly apply: Quantiles;
  /** Items whose value carried no write time (not written by this phase's writer). */
  readonly skipped: number;
}

/**
 * Lags of every item, from the write time the writer embedded in the value (`<epoch ms>:…`). Items store
 * `capturedAt` and `appliedAt` in epoch ms (docs/item-layout.md).
 */
export function lagFigures(items: readonly Item[]): LagFigures {
  const endToEnd: number[] = [];
  const capture: number[] = [];
  const apply: number[] = [];
  let skipped = 0;
  for (const item of items) {
    const written = Number(item[ATTR.val]?.S?.split(':', 1)[0]);
    const capturedAt = Number(item[ATTR.capturedAt]?.N);
    const appliedAt = Number(item[ATTR.appliedAt]?.N);
    if (![written, capturedAt, appliedAt].every(Number.isFinite)) {
      skipped++;
      continue;
    }
    endToEnd.push(appliedAt - written);
    capture.push(capturedAt - written);
    apply.push(appliedAt - capturedAt);
  }
  return {
    endToEnd: quantilesOf(endToEnd),
    capture: quantilesOf(capture),
    apply: quantilesOf(apply),
    skipped,
  };
}

export interface FinalStateCheck {
  readonly keysExpected: number;
  readonly itemsFound: number;
  /** Keys whose item is absent, or holds another version or value than the key's last event. */
  readonly wrong: number;
  /** Items for keys no event named. */
  readonly extra: number;
  readonly sample: ReadonlyArray<{ pk: string; expected: string; found: string | null }>;
}

/**
 * The table after a drain must hold exactly the last event of every key: its version and its value. `expected`
 * maps pk → [version, string value].
 */
export function checkFinalState(
  expected: ReadonlyMap<string, readonly [version: string, value: string]>,
  items: readonly Item[],
): FinalStateCheck {
  const found = new Map<string, Item>();
  for (const item of items) {
    const pk = item[ATTR.pk]?.S;
    if (pk !== undefined) found.set(pk, item);
  }
  const sample: Array<{ pk: string; expected: string; found: string | null }> = [];
  let wrong = 0;
  for (const [pk, [ver, val]] of expected) {
    const item = found.get(pk);
    const got = item ? `${item[ATTR.ver]?.N ?? '?'} ${item[ATTR.val]?.S ?? '?'}` : null;
    if (got !== `${ver} ${val}`) {
      wrong++;
      if (sample.length < 10) sample.push({ pk, expected: `${ver} ${val}`, found: got });
    }
  }
  let extra = 0;
  for (const pk of found.keys()) if (!expected.has(pk)) extra++;
  return { keysExpected: expected.size, itemsFound: found.size, wrong, extra, sample };
}
