export interface PipelineStatus {
  readonly captured: number;
  readonly applied: number;
  readonly pending: number;
  readonly lagP50Ms: number | undefined;
  readonly lagP99Ms: number | undefined;
  readonly parity: number;
  readonly keysVerified: number;
  readonly mismatches: number;
  /** Set once the failure policy stopped the applier (its message, with the fix, is printed apart). */
  readonly applierStopped?: boolean;
}

const ms = (v: number | undefined): string => (v === undefined ? '-' : `${Math.round(v)} ms`);

/** One line, for a terminal that rewrites it in place (or a log that appends it). */
export function formatStatus(s: PipelineStatus, hint?: string): string {
  const parity =
    s.keysVerified === 0 ? 'parity -' : `parity ${(s.parity * 100).toFixed(2)}% of ${s.keysVerified} keys`;
  const mismatch = s.mismatches > 0 ? ` (${s.mismatches} mismatched)` : '';
  const parts = [
    `captured ${s.captured}`,
    `applied ${s.applied}`,
    `lag p50 ${ms(s.lagP50Ms)} p99 ${ms(s.lagP99Ms)}`,
    `${parity}${mismatch}`,
  ];
  if (s.pending > 0) parts.splice(1, 0, `pending ${s.pending}`);
  if (s.applierStopped)
    parts.splice(parts.indexOf(`applied ${s.applied}`) + 1, 0, 'APPLIER STOPPED (see above)');
  return parts.join(' | ') + (hint ? ` | ${hint}` : '');
}
