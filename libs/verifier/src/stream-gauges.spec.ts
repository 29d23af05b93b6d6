import { Metrics } from '@cdc/observability';
import { describe, expect, it } from 'vitest';
import { ageSeconds, setStreamGauges, windowParity } from './stream-gauges';

describe('windowParity', () => {
  it('is matching over confirmed records, leaving out in-flight and not-carried as cdc status does', () => {
    expect(windowParity({ match: 990, value: 6, missing: 4, 'in-flight': 500, 'not-carried': 7 })).toEqual({
      ratio: 0.99,
      records: 1000,
    });
  });

  it('counts any other class (a stuck record too) against parity', () => {
    expect(windowParity({ match: 3, stuck: 1 })).toEqual({ ratio: 0.75, records: 4 });
  });

  it('an idle window (nothing, or only in-flight) has parity 1 and 0 records', () => {
    expect(windowParity({})).toEqual({ ratio: 1, records: 0 });
    expect(windowParity({ 'in-flight': 12 })).toEqual({ ratio: 1, records: 0 });
  });

  it('a window of mismatches only has parity 0', () => {
    expect(windowParity({ value: 2 })).toEqual({ ratio: 0, records: 2 });
  });
});

describe('ageSeconds', () => {
  it('is seconds since, 0 before the first and never negative', () => {
    expect(ageSeconds(1_000, 4_500)).toBe(3.5);
    expect(ageSeconds(undefined, 4_500)).toBe(0);
    expect(ageSeconds(5_000, 4_500)).toBe(0);
  });
});

describe('setStreamGauges', () => {
  const value = async (g: { get(): Promise<{ values: Array<{ value: number }> }> }) =>
    (await g.get()).values[0]?.value;

  it('sets parity, window records, shards, the last read (unix s) and the newest record age', async () => {
    const m = new Metrics({ defaultMetrics: false });
    setStreamGauges(
      m,
      { match: 9, value: 1 },
      { openShards: 2, lastReadAt: 1_700_000_000_500, newestRecordAt: 1_700_000_000_000 },
      1_700_000_003_000,
    );
    expect(await value(m.verifierParityRatio)).toBe(0.9);
    expect(await value(m.verifierWindowRecords)).toBe(10);
    expect(await value(m.verifierShards)).toBe(2);
    expect(await value(m.verifierStreamLastRead)).toBe(1_700_000_000.5);
    expect(await value(m.verifierStreamNewestRecordAge)).toBe(3);
  });

  it('before the reader exists: no shards, last read 0, age 0', async () => {
    const m = new Metrics({ defaultMetrics: false });
    setStreamGauges(m, {}, undefined, 5_000);
    expect(await value(m.verifierShards)).toBe(0);
    expect(await value(m.verifierStreamLastRead)).toBe(0);
    expect(await value(m.verifierStreamNewestRecordAge)).toBe(0);
    expect(await value(m.verifierParityRatio)).toBe(1);
  });
});
