import { describe, expect, it } from 'vitest';
import { DLQ_HEADERS as H } from './dlq';
import {
  type DlqEntry,
  dlqFix,
  dlqStanding,
  dlqStatus,
  encodeResolution,
  parseRecordId,
  parseResolution,
  printableKey,
  REDRIVE_AFTER_FIX,
  type RawDlqRecord,
  toDlqEntry,
} from './dlq-records';

const capture: RawDlqRecord = {
  partition: 2,
  offset: '17',
  timestamp: '1700000000000',
  key: Buffer.from('user:1'),
  value: null,
  headers: {
    [H.code]: Buffer.from('VALUE_TOO_LARGE'),
    [H.reason]: Buffer.from('event of 3000 bytes > CDC_MAX_EVENT_BYTES (2048)'),
    [H.rejectedBy]: Buffer.from('capture'),
    [H.redisType]: Buffer.from('string'),
  },
};

const applier: RawDlqRecord = {
  partition: 0,
  offset: '5',
  timestamp: '1700000000500',
  key: Buffer.from([0x61, 0x00, 0xff, 0x5c]),
  value: Buffer.from('garbage'),
  headers: {
    [H.code]: 'BAD_MAGIC',
    [H.reason]: 'no single-object marker',
    [H.rejectedBy]: 'applier',
    [H.sourceTopic]: 'cdc.t.changes',
    [H.sourcePartition]: '1',
    [H.sourceOffset]: '99',
    'x-binary': Buffer.from([0xc3, 0x28]),
  },
};

describe('toDlqEntry', () => {
  it('reads a capture record: code, reason, kind, key; no source, size 0', () => {
    expect(toDlqEntry(capture)).toMatchObject({
      id: '2:17',
      time: 1_700_000_000_000,
      code: 'VALUE_TOO_LARGE',
      kind: 'not-carried',
      rejectedBy: 'capture',
      keyText: 'user:1',
      size: 0,
      source: null,
    });
  });

  it('reads an applier record: its source offset, size, escaped key and binary header', () => {
    const e = toDlqEntry(applier);
    expect(e).toMatchObject({
      id: '0:5',
      code: 'BAD_MAGIC',
      kind: 'poison',
      size: 7,
      keyText: 'a\\x00\\xff\\\\',
    });
    expect(e.source).toEqual({ topic: 'cdc.t.changes', partition: 1, offset: '99' });
    expect(e.headers['x-binary']).toBe('\\xc3(');
  });

  it('a record without headers is poison with no code (never excused)', () => {
    const e = toDlqEntry({ partition: 0, offset: '0', timestamp: '1', key: null, value: null });
    expect(e).toMatchObject({ code: '', kind: 'poison', keyText: '(no key)', rejectedBy: null });
  });
});

describe('printableKey', () => {
  it('keeps printable ASCII and escapes the rest unambiguously', () => {
    expect(printableKey(Buffer.from('a b~'))).toBe('a b~');
    expect(printableKey(Buffer.from('é\n\\'))).toBe('\\xc3\\xa9\\x0a\\\\');
  });
});

describe('parseRecordId', () => {
  it('takes partition:offset only', () => {
    expect(parseRecordId('3:0012')).toEqual({ partition: 3, offset: '12' });
    for (const bad of ['3', '3:', ':1', 'a:1', '1:2:3', '-1:2']) expect(parseRecordId(bad), bad).toBeNull();
  });
});

describe('resolutions', () => {
  const entry = toDlqEntry(applier);
  const at = (r: ReturnType<typeof parseResolution>) => new Map(r ? [[entry.id, r]] : []);

  it('round-trip through the accepted topic value, and refuse anything else', () => {
    const r = {
      code: 'BAD_MAGIC',
      key: entry.keyText,
      acceptedAt: 5,
      note: 'seen',
      resolution: 'accepted',
    } as const;
    expect(parseResolution(encodeResolution(r))).toEqual(r);
    expect(parseResolution(Buffer.from('{"code":"X","key":"k","acceptedAt":1}'))?.resolution).toBe(
      'accepted',
    );
    for (const bad of ['nope', '{}', '{"code":"X","key":"k","acceptedAt":1,"resolution":"ignored"}'])
      expect(parseResolution(Buffer.from(bad)), bad).toBeNull();
    expect(parseResolution(null)).toBeNull();
  });

  it('explain a record only when offset, code and key all match', () => {
    const accepted = {
      code: 'BAD_MAGIC',
      key: entry.keyText,
      acceptedAt: 1,
      resolution: 'accepted',
    } as const;
    expect(dlqStatus(entry, new Map())).toBe('open');
    expect(dlqStatus(entry, at(accepted))).toBe('accepted');
    expect(dlqStatus(entry, at({ ...accepted, resolution: 'redriven' }))).toBe('redriven');
    // The same offset in a recreated topic holds another record: not excused.
    expect(dlqStatus(entry, at({ ...accepted, code: 'UNDECODABLE' }))).toBe('open');
    expect(dlqStatus(entry, at({ ...accepted, key: 'other' }))).toBe('open');
    expect(dlqStatus(toDlqEntry(capture), new Map())).toBe('not-carried');
  });
});

describe('dlqStanding', () => {
  it('counts the explained by why, and the open by code', () => {
    const entries: DlqEntry[] = [
      toDlqEntry(capture),
      toDlqEntry(applier),
      toDlqEntry({ ...applier, offset: '6' }),
      toDlqEntry({ ...applier, offset: '7', headers: { [H.code]: 'ITEM_REJECTED' } }),
    ];
    const accepted = new Map([
      [
        '0:6',
        { code: 'BAD_MAGIC', key: entries[2]?.keyText ?? '', acceptedAt: 1, resolution: 'accepted' as const },
      ],
    ]);
    expect(dlqStanding(entries, accepted)).toEqual({
      records: 4,
      notCarried: 1,
      accepted: 1,
      redriven: 0,
      open: { BAD_MAGIC: 1, ITEM_REJECTED: 1 },
    });
    expect(dlqStanding([], new Map())).toEqual({
      records: 0,
      notCarried: 0,
      accepted: 0,
      redriven: 0,
      open: {},
    });
  });
});

describe('redrive and fixes', () => {
  it('redrive by default only the codes whose fix is a redrive', () => {
    expect([...REDRIVE_AFTER_FIX].sort()).toEqual(['ITEM_REJECTED', 'MAPPING_FAILED', 'VALUE_TOO_LARGE']);
    expect(dlqFix('VALUE_TOO_LARGE')).toContain('CDC_MAX_EVENT_BYTES');
    expect(dlqFix('WHATEVER')).toContain('cdc dlq show');
  });
});
