import type { ChangeEvent } from '@cdc/contracts';
import { ATTR } from '@cdc/parity';
import { describe, expect, it } from 'vitest';
import { defaultItemMapper, mapEvent, MappingError } from './item-mapper';

const event: ChangeEvent = {
  sourceId: 's',
  db: 0,
  key: Buffer.from('user:1'),
  op: 'UPSERT',
  value: { type: 'string', data: Buffer.from('v') },
  version: 9_007_199_254_740_993n,
  expireAt: null,
  event: 'set',
  origin: 'live',
  capturedAt: 1,
};
const ctx = { writer: 'w', appliedAt: 2, tombstoneTtlSeconds: 60 };

describe('mapEvent', () => {
  it('keeps the default layout and the exact version beyond 2^53', () => {
    const item = mapEvent(defaultItemMapper, event, ctx);
    expect(item?.[ATTR.pk]).toEqual({ S: 'user:1' });
    expect(item?.[ATTR.ver]).toEqual({ N: '9007199254740993' });
  });

  it('overrides whatever version a custom mapping wrote', () => {
    const item = mapEvent(() => ({ pk: { S: '1' }, ver: { N: '1' } }), event, ctx);
    expect(item).toEqual({ pk: { S: '1' }, ver: { N: '9007199254740993' } });
  });

  it('passes null through as "not for this table"', () => {
    expect(mapEvent(() => null, event, ctx)).toBeNull();
  });

  it.each([
    ['no pk', () => ({ name: { S: 'x' } })],
    ['an empty pk', () => ({ pk: { S: '' } })],
    ['a numeric pk', () => ({ pk: { N: '1' } })],
  ])('rejects a mapping with %s', (_, mapper) => {
    expect(() => mapEvent(mapper, event, ctx)).toThrow(MappingError);
  });

  it('turns a throwing mapping into a MappingError with its message', () => {
    const boom = () => {
      throw new Error('no field "name"');
    };
    expect(() => mapEvent(boom, event, ctx)).toThrow(/mapItem threw: no field "name"/);
  });
});
