import { type ChangeEvent, ChangeEventCodec } from '@cdc/contracts';
import type { ConsumedMessage } from '@cdc/kafka';
import { describe, expect, it } from 'vitest';
import { planBatch } from './plan-batch';

const codec = new ChangeEventCodec();
let offset = 0;
function msg(value: Buffer | null): ConsumedMessage {
  return {
    partition: 0,
    offset: String(offset++),
    key: Buffer.from('k'),
    value,
    headers: {},
    timestamp: '0',
  };
}
function ev(key: string, version: bigint): Buffer {
  const e: ChangeEvent = {
    sourceId: 's',
    db: 0,
    key: Buffer.from(key),
    op: 'UPSERT',
    value: { type: 'string', data: Buffer.from(`${key}@${version}`) },
    version,
    expireAt: null,
    event: 'set',
    origin: 'live',
    capturedAt: 0,
  };
  return codec.encode(e);
}

describe('planBatch', () => {
  it('keeps the highest version per key, skips Kafka tombstones, isolates poison', () => {
    const plan = planBatch(
      [
        msg(ev('a', 1n)),
        msg(ev('b', 5n)),
        msg(ev('a', 3n)),
        msg(null),
        msg(Buffer.from('garbage')),
        msg(ev('a', 2n)),
      ],
      codec,
    );
    expect(plan.writes.map((w) => [w.event.key.toString(), w.event.version])).toEqual([
      ['a', 3n],
      ['b', 5n],
    ]);
    expect(plan.coalesced).toBe(2);
    expect(plan.kafkaTombstones).toBe(1);
    expect(plan.poison).toHaveLength(1);
    expect(plan.poison[0]).toMatchObject({ code: 'BAD_MAGIC' });
    expect(plan.poison[0]?.message.value?.toString()).toBe('garbage');
  });
});
