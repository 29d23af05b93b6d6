import { describe, expect, it } from 'vitest';
import { partitionLags } from './status-collector';

describe('partitionLags', () => {
  it('is end - committed per partition; a partition never committed lags by what it still holds', () => {
    const watermarks = [
      { partition: 1, high: '10', low: '0' },
      { partition: 0, high: '25', low: '5' },
      { partition: 2, high: '7', low: '7' },
    ];
    const committed = [
      { partition: 0, offset: '20' },
      { partition: 1, offset: '-1' },
    ];
    expect(partitionLags(watermarks, committed)).toEqual([
      { partition: 0, end: '25', committed: '20', lag: 5 },
      { partition: 1, end: '10', committed: null, lag: 10 },
      { partition: 2, end: '7', committed: null, lag: 0 },
    ]);
  });
});
