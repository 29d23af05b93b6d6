import { DLQ_HEADERS as H, type DlqResolution, toDlqEntry } from '@cdc/contracts';
import { describe, expect, it } from 'vitest';
import { distinctKeys, parseSelection, selectToAccept, selectToRedrive } from './select';

const entry = (offset: number, code: string, key: string | null = `k${offset}`) =>
  toDlqEntry({
    partition: 0,
    offset: String(offset),
    timestamp: String(1_000 + offset),
    key: key === null ? null : Buffer.from(key),
    value: null,
    headers: { [H.code]: code },
  });

const entries = [
  entry(0, 'UNSUPPORTED_TYPE'),
  entry(1, 'VALUE_TOO_LARGE'),
  entry(2, 'BAD_MAGIC'),
  entry(3, 'ITEM_REJECTED'),
  entry(4, 'BAD_MAGIC', null),
  entry(5, 'VALUE_TOO_LARGE', 'k1'),
];
const resolved = (id: string, resolution: DlqResolution['resolution']) => {
  const e = entries.find((x) => x.id === id);
  return [id, { code: e?.code ?? '', key: e?.keyText ?? '', acceptedAt: 1, resolution }] as const;
};
const ids = (xs: ReadonlyArray<{ id: string }>) => xs.map((x) => x.id);

describe('parseSelection', () => {
  it('reads N, partition:offset ..., --code, or nothing', () => {
    expect(parseSelection(['3'], undefined)).toEqual({ by: 'first', n: 3 });
    expect(parseSelection(['0:5', '1:07', '0:5'], undefined)).toEqual({ by: 'ids', ids: ['0:5', '1:7'] });
    expect(parseSelection([], 'BAD_MAGIC')).toEqual({ by: 'code', code: 'BAD_MAGIC' });
    expect(parseSelection([], undefined)).toEqual({ by: 'default' });
  });

  it('names what is wrong', () => {
    expect(() => parseSelection(['0'], undefined)).toThrow(/from 1/);
    expect(() => parseSelection(['x'], undefined)).toThrow(/"x" is not a record/);
    expect(() => parseSelection(['0:1'], 'BAD_MAGIC')).toThrow(/not both/);
    expect(() => parseSelection([], 'NOPE')).toThrow(/not a DLQ code/);
  });
});

describe('selectToAccept', () => {
  it('N takes the first N open records, skipping not-carried and resolved ones', () => {
    const r = new Map([resolved('0:2', 'accepted')]);
    expect(ids(selectToAccept(entries, r, { by: 'first', n: 2 }).entries)).toEqual(['0:3', '0:4']);
    expect(ids(selectToAccept(entries, new Map(), { by: 'first', n: 9 }).entries)).toEqual([
      '0:2',
      '0:3',
      '0:4',
    ]);
  });

  it('--code takes the unresolved records of the code; ids exactly those, naming the missing', () => {
    const r = new Map([resolved('0:2', 'accepted')]);
    expect(ids(selectToAccept(entries, r, { by: 'code', code: 'BAD_MAGIC' }).entries)).toEqual(['0:4']);
    expect(ids(selectToAccept(entries, r, { by: 'code', code: 'VALUE_TOO_LARGE' }).entries)).toEqual([
      '0:1',
      '0:5',
    ]);
    const s = selectToAccept(entries, r, { by: 'ids', ids: ['0:0', '9:9'] });
    expect(ids(s.entries)).toEqual(['0:0']);
    expect(s.missing).toEqual(['9:9']);
  });

  it('refuses to guess', () => {
    expect(() => selectToAccept(entries, new Map(), { by: 'default' })).toThrow(/say which/);
  });
});

describe('selectToRedrive', () => {
  it('by default: unresolved records whose fix is a redrive (never streams or poison)', () => {
    const r = new Map([resolved('0:5', 'redriven')]);
    expect(ids(selectToRedrive(entries, r, { by: 'default' }).entries)).toEqual(['0:1', '0:3']);
    expect(ids(selectToRedrive(entries, r, { by: 'first', n: 1 }).entries)).toEqual(['0:1']);
  });

  it('explicitly: any record; keyless ones are set apart', () => {
    const s = selectToRedrive(entries, new Map(), { by: 'code', code: 'BAD_MAGIC' });
    expect(ids(s.entries)).toEqual(['0:2']);
    expect(ids(s.keyless)).toEqual(['0:4']);
    expect(ids(selectToRedrive(entries, new Map(), { by: 'ids', ids: ['0:0'] }).entries)).toEqual(['0:0']);
  });
});

describe('distinctKeys', () => {
  it('one re-capture per key, in first-seen order', () => {
    expect(distinctKeys(entries).map((k) => k.toString())).toEqual(['k0', 'k1', 'k2', 'k3']);
  });
});
