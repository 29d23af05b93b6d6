/**
 * Which table `cdc verify` checks, and whether it is the live pipeline's (the only one --repair can fix).
 *
 * Repair re-captures keys into the changes topic; the live applier (group CDC_APPLIER_GROUP, by default
 * cdc-applier.<source>.<table>) writes them into ITS table. So a table is live when it is the configured table
 * (CDC_TABLE, default cdc_<source>) AND that applier group has committed offsets on the topic (an applier has
 * fed it). `--table T` naming any other table, or a configured table no applier group commits for (e.g.
 * `CDC_TABLE=replay1`, a `cdc replay --to-table` target), is checked the same way but is not live: --repair is
 * refused and the advice is to re-run the replay. Without Kafka the evidence is unknown (null).
 */
export interface VerifyTarget {
  readonly table: string;
  /** The configured (live pipeline's) table. */
  readonly liveTable: string;
  readonly live: boolean | null;
  /** Why the table is not (or may not be) live; null when it is. */
  readonly why: string | null;
}

export function verifyTarget(opts: {
  readonly configTable: string;
  readonly requested: string | undefined;
  readonly applierGroup: string;
  readonly topic: string;
  /** Whether the applier group has committed offsets on the topic; null: could not tell (Kafka). */
  readonly applierCommits: boolean | null;
}): VerifyTarget {
  const table = opts.requested ?? opts.configTable;
  const base = { table, liveTable: opts.configTable };
  if (table !== opts.configTable)
    return {
      ...base,
      live: false,
      why: `table ${table} is not the live pipeline's table (${opts.configTable}: CDC_TABLE, default cdc_<source>)`,
    };
  if (opts.applierCommits === null)
    return {
      ...base,
      live: null,
      why: `could not tell whether an applier feeds ${table} (Kafka unreachable)`,
    };
  if (!opts.applierCommits)
    return {
      ...base,
      live: false,
      why: `no applier feeds table ${table}: its group ${opts.applierGroup} has no committed offsets on ${opts.topic} (a replay target, or the wrong CDC_TABLE)`,
    };
  return { ...base, live: true, why: null };
}

/** What to run to rebuild a table that is not live (a replay target): never --repair. */
export function rebuildAdvice(target: VerifyTarget): string {
  return (
    `${target.why}. --repair would re-capture keys into the topic, which the live applier writes to ` +
    `${target.liveTable}, not ${target.table}. To bring ${target.table} up to date, replay the topic into it ` +
    `again: npx cdc replay --to-table ${target.table} --from-beginning (versioned writes: only what is newer ` +
    `lands; an interrupted replay resumes with the same command without --from-*). An item changed in ` +
    `${target.table} itself is fixed only by rebuilding it: delete the table, then npx cdc replay --to-table ` +
    `${target.table} --from-beginning --create-table.`
  );
}

/**
 * Exit status: 0 parity, 2 confirmed mismatches (like diff's "differences found"; takes precedence), 3 none
 * confirmed but keys still in flight (not proven: rerun once the applier caught up), 130 interrupted.
 */
export const VERIFY_EXIT = { parity: 0, mismatches: 2, inFlight: 3, interrupted: 130 } as const;

/** The exit status of a finished scan (a cutover gate: only 0 means every checked key is proven). */
export function verifyExit(report: {
  readonly completed: boolean;
  readonly mismatches: number;
  readonly inFlight: number;
}): number {
  if (!report.completed) return VERIFY_EXIT.interrupted;
  if (report.mismatches > 0) return VERIFY_EXIT.mismatches;
  if (report.inFlight > 0) return VERIFY_EXIT.inFlight;
  return VERIFY_EXIT.parity;
}
