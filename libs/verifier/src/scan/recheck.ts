import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type Item, keyToPk, type ParityClass } from '@cdc/parity';
import type { NotCarried } from '@cdc/redis';
import { judgeSuspect, type Mark, sameVersion } from '../in-flight';
import type { Verdict } from '../parity-ledger';
import { PipelineWatch } from '../pipeline-watch';
import { check, safeState } from '../record-check';
import type { SourceReader, SourceState } from '../source-read';
import { batchGetItems } from './table-reads';

/** A key that did not match at first look, with the item version seen then (null: no item, or no `ver`). */
export interface Suspect {
  readonly key: Buffer;
  readonly pk: string;
  readonly firstVersion: bigint | null;
  /** When the first look read Redis (epoch ms, this host's clock). */
  readonly firstAt: number;
}

/** A suspect's outcome: its verdict, the item version it belongs to, and why when it is not decided. */
export interface Settled {
  readonly verdict: Verdict;
  readonly version: bigint | null;
  readonly notCarried?: NotCarried;
  /** For in-flight and stuck: what the pipeline has not passed yet, with the lag figures. */
  readonly detail?: string;
}

/**
 * The grace-only rule, for a table no live pipeline feeds (a replay target): after the grace period a key that
 * matches is a match, an item whose version moved on was in flight, anything else is confirmed.
 */
export function confirmVerdict(
  firstVersion: bigint | null,
  now: ParityClass,
  nowVersion: bigint | null,
): Verdict {
  if (now === 'match') return 'match';
  if (!sameVersion(nowVersion, firstVersion)) return 'in-flight';
  return now;
}

export function itemVersion(item: Item | null | undefined): bigint | null {
  const state = safeState(item ?? null);
  return state && state !== 'foreign' ? state.version : null;
}

/** Sleeps `ms`; false when aborted first. */
export function graceSleep(ms: number, signal?: AbortSignal): Promise<boolean> {
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const done = (ok: boolean) => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', onAbort);
      resolve(ok);
    };
    const onAbort = () => done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface SettleDeps {
  readonly dynamo: DynamoDBClient;
  readonly table: string;
  readonly source: SourceReader;
  readonly writer: string;
  readonly graceMs: number;
  /** The live pipeline's progress; absent for a table it does not feed (then the grace-only rule). */
  readonly watch?: PipelineWatch;
  /** In flight longer than this: stuck (CDC_VERIFIER_IN_FLIGHT_LIMIT_MS). */
  readonly limitMs: number;
  readonly captureAliveWithinMs: number;
  /** How long one call keeps looking before it leaves the rest in flight (default limitMs). */
  readonly waitMs?: number;
  /** Pause between looks while keys are in flight (default 500 ms). */
  readonly pollMs?: number;
  /**
   * A key whose item moved on since the first look: keep checking its newer state here (the scan: nothing else
   * will) instead of leaving it in flight (the stream check: the newer stream record has its own check).
   */
  readonly followSuperseded?: boolean;
}

interface Look {
  readonly class: ParityClass;
  readonly version: bigint | null;
  readonly state: SourceState;
}

/** Items strongly consistent, Redis fresh (with the not-carried policy). */
async function look(deps: SettleDeps, suspects: readonly Suspect[]): Promise<Look[]> {
  const items = await batchGetItems(
    deps.dynamo,
    deps.table,
    suspects.map((s) => s.pk),
  );
  const states = await deps.source.read(suspects.map((s) => s.key));
  return suspects.map((s, i) => {
    const item = items.get(keyToPk(s.key)) ?? null;
    const state = states[i] as SourceState;
    return { class: check(safeState(item), state, deps.writer), version: itemVersion(item), state };
  });
}

/**
 * Mismatches are not believed at once (in-flight.ts): after the grace period each suspect is looked at again
 * and judged by judgeSuspect against the pipeline's progress, read just before the look; keys the pipeline
 * has not passed yet are looked at again every `pollMs` until decided, `waitMs` runs out (in flight) or the
 * limit (stuck). Returns null when aborted (a scan page is then not committed).
 */
export async function settle(
  deps: SettleDeps,
  suspects: readonly Suspect[],
  signal?: AbortSignal,
  /** Each suspect as soon as it is decided (a slow one does not hold the others' verdicts back). */
  onSettled?: (suspect: Suspect, settled: Settled) => void,
): Promise<Settled[] | null> {
  if (suspects.length === 0) return [];
  if (!(await graceSleep(deps.graceMs, signal))) return null;
  const decided = new Array<Settled | undefined>(suspects.length);
  const set = (i: number, settled: Settled) => {
    decided[i] = settled;
    onSettled?.(suspects[i] as Suspect, settled);
  };
  const marks = new Map<number, Mark>();
  const details = new Map<number, string>();
  const started = Date.now();
  /** What is being checked now per suspect: its first look, or the newer state it moved on to. */
  const current = [...suspects];
  let pending = suspects.map((_, i) => i);
  for (;;) {
    const progress = deps.watch ? await deps.watch.progress() : undefined;
    const looks = await look(
      deps,
      pending.map((i) => current[i] as Suspect),
    );
    const now = Date.now();
    const unmarked: number[] = [];
    const still: number[] = [];
    pending.forEach((i, j) => {
      const s = current[i] as Suspect;
      const l = looks[j] as Look;
      if (l.state.notCarried) {
        set(i, { verdict: 'not-carried', version: l.version, notCarried: l.state.notCarried });
        return;
      }
      if (!progress) {
        set(i, { verdict: confirmVerdict(s.firstVersion, l.class, l.version), version: l.version });
        return;
      }
      const mark = marks.get(i) ?? null;
      const judgement = judgeSuspect({
        firstVersion: s.firstVersion,
        firstAt: s.firstAt,
        latest: { class: l.class, version: l.version },
        mark,
        progress: PipelineWatch.forPartition(progress, mark?.partition),
        now,
        graceMs: deps.graceMs,
        captureAliveWithinMs: deps.captureAliveWithinMs,
        limitMs: deps.limitMs,
      });
      switch (judgement.kind) {
        case 'match':
          set(i, { verdict: 'match', version: l.version });
          return;
        case 'superseded':
          if (deps.followSuperseded) {
            // The pipeline delivered a newer state meanwhile: judge that one, against a fresh mark.
            current[i] = { ...s, firstVersion: l.version, firstAt: now };
            marks.delete(i);
            details.set(i, 'the item moved on during the check; checking its newer state');
            still.push(i);
            return;
          }
          // This look belongs to the old state: the newer one has its own check (its stream record).
          set(i, { verdict: 'in-flight', version: s.firstVersion });
          return;
        case 'confirmed':
          set(i, { verdict: judgement.class, version: l.version });
          return;
        case 'stuck':
          set(i, { verdict: 'stuck', version: s.firstVersion, detail: judgement.detail });
          return;
        case 'in-flight':
          details.set(i, judgement.detail);
          if (judgement.waitingOn === 'mark') unmarked.push(i);
          still.push(i);
      }
    });
    pending = still;
    if (pending.length === 0) break;
    if (now - started >= (deps.waitMs ?? deps.limitMs)) {
      for (const i of pending)
        set(i, { verdict: 'in-flight', version: current[i]?.firstVersion ?? null, detail: details.get(i) });
      break;
    }
    const marked =
      unmarked.length > 0 && deps.watch
        ? await deps.watch.mark(unmarked.map((i) => current[i]?.key as Buffer))
        : null;
    if (marked && !('unknown' in marked)) {
      marked.forEach((m, j) => marks.set(unmarked[j] as number, m));
      if (unmarked.length === pending.length) continue; // judged again at once against the new marks
    }
    if (!(await graceSleep(deps.pollMs ?? 500, signal))) return null;
  }
  return decided as Settled[];
}
