import { describe, expect, it } from 'vitest';
import { controlKeys } from './control-keys';
import { controlKeyOwner } from './control-inventory';
import { clusterCounterKey, clusterMarkerKey, EPOCH_MARKER_KEY, VERSION_COUNTER_KEY } from './epoch';
import { versionKeyFor } from './slot';

describe('controlKeyOwner', () => {
  const S = 'orders';

  it('claims every control key the code writes for the source', () => {
    const keys = [
      controlKeys.alive(S),
      controlKeys.gaps(S),
      controlKeys.streamCheckpoints(S, 'cdc_orders'),
      controlKeys.streamLease(S, 'cdc_orders', 'shardId-0001'),
      controlKeys.streamParity(S, 'replay1'),
      controlKeys.lastScan(S, 'cdc_orders'),
      `__cdc:hb:${S}:1a2b3c4d{x7}`, // capture's heartbeat, with a cluster hash tag
      `__cdc:hb:${S}:1a2b3c4d`,
      `__cdc:scan:reconcile:${S}`, // RedisCheckpointStore
      `__cdc:dlq:${S}:accepted`, // a kind added later, same convention
    ];
    for (const k of keys) expect(controlKeyOwner(k, S), k).toEqual({ kind: 'source' });
  });

  it('calls version counters, epoch markers and probe keys shared by every source on the database', () => {
    const keys = [
      VERSION_COUNTER_KEY,
      EPOCH_MARKER_KEY,
      clusterCounterKey(42),
      clusterMarkerKey(16383),
      versionKeyFor(Buffer.from('user:1')),
      '__cdc:probe:abcd1234:s',
    ];
    for (const k of keys) expect(controlKeyOwner(k, S), k).toEqual({ kind: 'shared' });
  });

  it("names the other source a key belongs to, even one whose id extends this one's", () => {
    expect(controlKeyOwner(controlKeys.alive('billing'), S)).toEqual({ kind: 'other', source: 'billing' });
    expect(controlKeyOwner(`__cdc:scan:reconcile:${S}.v2`, S)).toEqual({ kind: 'other', source: `${S}.v2` });
    expect(controlKeyOwner(controlKeys.streamParity('x', S), S)).toEqual({ kind: 'other', source: 'x' });
  });
});
