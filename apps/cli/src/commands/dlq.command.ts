import { Command, CommandRunner, Option, SubCommand } from 'nest-commander';
import { ChangeEventCodec, dlqStanding, dlqStatus, isDlqCode, parseRecordId } from '@cdc/contracts';
import {
  formatList,
  formatRedrive,
  formatShow,
  type RedriveResult,
  summary,
  toRow,
  viewValue,
} from '../dlq/format';
import { ACCEPT_WHICH, distinctKeys, parseSelection, selectToAccept, selectToRedrive } from '../dlq/select';
import { type DlqSession, openDlqSession, readDlq, recapture } from '../dlq/session';
import { fail, printJson } from '../output';

interface DlqFlags {
  json?: boolean;
  limit?: number;
  code?: string;
  open?: boolean;
  note?: string;
}

/** Exit status of `redrive` when some key is still refused (like verify's 2 for mismatches). */
export const REDRIVE_STILL_REFUSED_EXIT = 2;

async function withSession(
  flags: DlqFlags,
  needs: Array<'redis' | 'kafka'>,
  body: (s: DlqSession) => Promise<void>,
): Promise<void> {
  const session = await openDlqSession(flags.json ?? false, needs);
  try {
    await body(session);
  } catch (err) {
    fail(`dlq: ${(err as Error).message}`);
  } finally {
    await session.close();
  }
}

const codeOption = (value: string): string => {
  if (!isDlqCode(value)) fail(`--code ${value} is not a DLQ code (one of the codes cdc dlq list shows)`, 64);
  return value;
};

@SubCommand({
  name: 'list',
  description:
    'DLQ records up to the current end: record (partition:offset), time, code, kind, status (open / not-carried / accepted / redriven), size, source offset, key, reason',
})
export class DlqListCommand extends CommandRunner {
  async run(_args: string[], flags: DlqFlags): Promise<void> {
    await withSession(flags, ['kafka'], async (s) => {
      const { entries, resolutions, exists } = await readDlq(s);
      if (!exists && !flags.json)
        process.stderr.write(`${s.config.dlqTopic} does not exist yet: nothing was dead-lettered.\n`);
      const standing = dlqStanding(entries, resolutions);
      const rows = entries
        .map((e) => toRow(e, dlqStatus(e, resolutions)))
        .filter((r) => (!flags.code || r.code === flags.code) && (!flags.open || r.status === 'open'));
      const shown = flags.limit !== undefined ? rows.slice(0, flags.limit) : rows;
      if (flags.json)
        printJson({
          topic: s.config.dlqTopic,
          total: entries.length,
          matching: rows.length,
          standing,
          records: shown,
        });
      else process.stdout.write(formatList(s.config.dlqTopic, shown, rows.length, standing));
    });
  }

  @Option({ flags: '--json', description: 'print { topic, total, matching, standing, records } as JSON' })
  parseJson(): boolean {
    return true;
  }

  @Option({ flags: '--limit <n>', description: 'show the first N matching records (oldest first)' })
  parseLimit(value: string): number {
    const n = Number(value);
    if (!Number.isSafeInteger(n) || n < 0) fail(`--limit must be a whole number, not "${value}"`, 64);
    return n;
  }

  @Option({ flags: '--code <code>', description: 'only records with this code (e.g. VALUE_TOO_LARGE)' })
  parseCode(value: string): string {
    return codeOption(value);
  }

  @Option({
    flags: '--open',
    description: 'only the records cdc status counts (not explained, not resolved)',
  })
  parseOpen(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'show',
  arguments: '<record>',
  description:
    'One DLQ record (partition:offset): every header, and its value decoded as a change event where possible',
})
export class DlqShowCommand extends CommandRunner {
  async run([arg]: string[], flags: DlqFlags): Promise<void> {
    const id = parseRecordId(arg ?? '');
    if (!id) fail(`"${arg ?? ''}" is not a record: give partition:offset as cdc dlq list shows it`, 64);
    const wanted = `${id.partition}:${id.offset}`;
    await withSession(flags, ['kafka'], async (s) => {
      const { entries, values, resolutions } = await readDlq(s, (i) => i === wanted);
      const entry = entries.find((e) => e.id === wanted);
      if (!entry) throw new Error(`${s.config.dlqTopic} holds no record ${wanted} (cdc dlq list shows them)`);
      const row = toRow(entry, dlqStatus(entry, resolutions));
      const value = viewValue(new ChangeEventCodec(), values.get(wanted) ?? null);
      const resolution = resolutions.get(wanted) ?? null;
      if (flags.json) printJson({ ...row, headers: entry.headers, value, resolution });
      else process.stdout.write(formatShow(row, entry.headers, value));
    });
  }

  @Option({
    flags: '--json',
    description: 'print the record, its headers, its decoded value and resolution as JSON',
  })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'accept',
  arguments: '[records...]',
  description:
    'Record that DLQ records were inspected and accepted, so cdc status stops counting them: N (the first N open), partition:offset ..., or --code C',
})
export class DlqAcceptCommand extends CommandRunner {
  async run(args: string[], flags: DlqFlags): Promise<void> {
    let selection;
    try {
      selection = parseSelection(args, flags.code);
      if (selection.by === 'default') throw new Error(ACCEPT_WHICH);
    } catch (err) {
      fail((err as Error).message, 64);
    }
    await withSession(flags, ['kafka'], async (s) => {
      const { entries, resolutions } = await readDlq(s);
      const { entries: chosen, missing } = selectToAccept(entries, resolutions, selection);
      if (missing.length > 0)
        throw new Error(`${s.config.dlqTopic} holds no record ${missing.join(', ')}: nothing accepted`);
      await s.store.resolve(
        chosen.map((entry) => ({
          entry,
          resolution: 'accepted' as const,
          ...(flags.note !== undefined ? { note: flags.note } : {}),
        })),
      );
      for (const e of chosen)
        resolutions.set(e.id, {
          code: e.code,
          key: e.keyText,
          acceptedAt: Date.now(),
          resolution: 'accepted',
        });
      const standing = dlqStanding(entries, resolutions);
      if (flags.json) {
        printJson({
          topic: s.config.dlqAcceptedTopic,
          accepted: chosen.map((e) => toRow(e, 'accepted')),
          standing,
        });
        return;
      }
      for (const e of chosen) process.stdout.write(`accepted ${e.id}  ${e.code}  ${e.keyText}\n`);
      process.stdout.write(
        `${chosen.length} records accepted (in ${s.config.dlqAcceptedTopic}). ${summary(standing)}\n`,
      );
    });
  }

  @Option({ flags: '--code <code>', description: 'every record of this code not resolved yet' })
  parseCode(value: string): string {
    return codeOption(value);
  }

  @Option({ flags: '--note <text>', description: 'why, kept with the acceptance' })
  parseNote(value: string): string {
    return value;
  }

  @Option({ flags: '--json', description: 'print the accepted records and the new standing as JSON' })
  parseJson(): boolean {
    return true;
  }
}

@SubCommand({
  name: 'redrive',
  arguments: '[records...]',
  description:
    "After the cause is fixed, re-capture the records' keys through the log (origin=repair): by default every unresolved record whose fix is a redrive; or N, partition:offset ..., --code C. Exit 2 when some key is still refused",
})
export class DlqRedriveCommand extends CommandRunner {
  async run(args: string[], flags: DlqFlags): Promise<void> {
    let selection;
    try {
      selection = parseSelection(args, flags.code);
    } catch (err) {
      fail((err as Error).message, 64);
    }
    await withSession(flags, ['redis', 'kafka'], async (s) => {
      const { entries, resolutions } = await readDlq(s);
      const chosen = selectToRedrive(entries, resolutions, selection);
      if (chosen.missing.length > 0)
        throw new Error(
          `${s.config.dlqTopic} holds no record ${chosen.missing.join(', ')}: nothing redriven`,
        );
      const skipped = chosen.keyless.map(
        (e) => `${e.id}  ${e.code}: no key, nothing to re-capture (cdc dlq accept it)`,
      );
      const outcomes = new Map(
        (await recapture(s, distinctKeys(chosen.entries))).map((o) => [o.key.toString('latin1'), o]),
      );
      const results: RedriveResult[] = chosen.entries.map((e) => {
        const o = outcomes.get((e.key as Buffer).toString('latin1'));
        if (!o) throw new Error(`capture reported nothing for ${e.keyText}`);
        return {
          id: e.id,
          key: e.keyText,
          code: e.code,
          outcome: o.outcome,
          version: o.version.toString(),
          ...(o.code ? { newCode: o.code } : {}),
          ...(o.reason ? { reason: o.reason } : {}),
        };
      });
      const done = new Set(results.filter((r) => r.outcome !== 'refused').map((r) => r.id));
      await s.store.resolve(
        chosen.entries
          .filter((e) => done.has(e.id))
          .map((entry) => ({ entry, resolution: 'redriven' as const })),
      );
      if (flags.json)
        printJson({
          topic: s.config.topic,
          results,
          skipped: chosen.keyless.map((e) => toRow(e, dlqStatus(e, resolutions))),
        });
      else if (results.length === 0 && skipped.length === 0)
        process.stdout.write('Nothing to redrive: no unresolved record matches (cdc dlq list shows them).\n');
      else process.stdout.write(formatRedrive(s.config.topic, results, skipped));
      if (results.some((r) => r.outcome === 'refused')) process.exitCode = REDRIVE_STILL_REFUSED_EXIT;
    });
  }

  @Option({ flags: '--code <code>', description: 'every unresolved record of this code' })
  parseCode(value: string): string {
    return codeOption(value);
  }

  @Option({
    flags: '--json',
    description: 'print { topic, results: [{ id, key, code, outcome, version, newCode? }], skipped } as JSON',
  })
  parseJson(): boolean {
    return true;
  }
}

@Command({
  name: 'dlq',
  description:
    'The dead-letter topic: list | show | accept | redrive (docs/operations.md, "The dead-letter topic")',
  subCommands: [DlqListCommand, DlqShowCommand, DlqAcceptCommand, DlqRedriveCommand],
})
export class DlqCommand extends CommandRunner {
  run(): Promise<void> {
    this.command.help();
  }
}
