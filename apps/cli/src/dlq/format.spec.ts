import { type ChangeEvent, ChangeEventCodec, DLQ_HEADERS as H, toDlqEntry } from '@cdc/contracts';
import { describe, expect, it } from 'vitest';
import { formatList, formatRedrive, jsonSafe, summary, toRow, viewValue } from './format';

const codec = new ChangeEventCodec();
const event: ChangeEvent = {
  sourceId: 's',
  db: 0,
  key: Buffer.from('user:1'),
  op: 'UPSERT',
  value: { type: 'string', data: Buffer.from('hello') },
  version: 2n ** 60n,
  expireAt: null,
  event: 'set',
  origin: 'live',
  capturedAt: 1_700_000_000_000,
};

describe('viewValue', () => {
  it('decodes a change event, bytes as text and versions as strings', () => {
    const view = viewValue(codec, codec.encode(event));
    expect(view?.decodeError).toBeUndefined();
    expect(view?.event).toMatchObject({
      key: 'user:1',
      op: 'UPSERT',
      version: (2n ** 60n).toString(),
      value: { type: 'string', data: 'hello' },
    });
  });

  it('previews what does not decode, as escaped utf8 and hex', () => {
    const view = viewValue(codec, Buffer.from('garb\x00age'));
    expect(view).toMatchObject({ bytes: 8, utf8: 'garb\\x00age', hex: '6761726200616765' });
    expect(view?.decodeError?.length).toBeGreaterThan(0);
    expect(viewValue(codec, null)).toBeNull();
    expect(viewValue(codec, Buffer.alloc(300))?.hex).toMatch(/…$/);
  });

  it('jsonSafe leaves plain values alone', () => {
    expect(jsonSafe({ a: [1, 'x', null], m: new Map([['k', 1n]]) })).toEqual({
      a: [1, 'x', null],
      m: { k: '1' },
    });
  });
});

describe('list and redrive text', () => {
  const e = toDlqEntry({
    partition: 1,
    offset: '4',
    timestamp: '1700000000000',
    key: Buffer.from('k'),
    value: Buffer.alloc(2048),
    headers: {
      [H.code]: 'BAD_MAGIC',
      [H.reason]: 'bad bytes',
      [H.sourceTopic]: 'cdc.t.changes',
      [H.sourcePartition]: '0',
      [H.sourceOffset]: '7',
    },
  });
  const standing = { records: 2, notCarried: 1, accepted: 0, redriven: 0, open: { BAD_MAGIC: 1 } };

  it('a line per record with its source offset, size and reason, then the standing', () => {
    const text = formatList('t.dlq', [toRow(e, 'open')], 2, standing);
    expect(text).toContain('t.dlq: 2 records');
    expect(text).toMatch(
      /1:4 +2023-11-14T22:13:20.000Z +BAD_MAGIC +poison +open +2.0 KiB +cdc.t.changes 0:7 +k +bad bytes/,
    );
    expect(text).toContain('(1 of 2 shown)');
    expect(summary(standing)).toBe(
      '1 open (1 BAD_MAGIC), 1 not carried by policy, 0 accepted, 0 redriven. cdc status fails until each open record is redriven or accepted.',
    );
  });

  it('says per key what the redrive did', () => {
    const text = formatRedrive(
      'cdc.t.changes',
      [
        { id: '0:1', key: 'a', code: 'VALUE_TOO_LARGE', outcome: 'produced', version: '9' },
        { id: '0:2', key: 'b', code: 'VALUE_TOO_LARGE', outcome: 'deleted', version: '10' },
        {
          id: '0:3',
          key: 'c',
          code: 'VALUE_TOO_LARGE',
          outcome: 'refused',
          version: '11',
          newCode: 'VALUE_TOO_LARGE',
        },
      ],
      [],
    );
    expect(text).toContain('0:1  VALUE_TOO_LARGE  a: produced version 9 (origin=repair)');
    expect(text).toContain('b: key gone from Redis: DELETE produced at version 10');
    expect(text).toContain('c: still refused: VALUE_TOO_LARGE');
    expect(text).toContain(
      '2 of 3 records redriven through cdc.t.changes and marked resolved; 1 still refused.',
    );
  });
});
