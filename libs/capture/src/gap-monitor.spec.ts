import { describe, expect, it } from 'vitest';
import { countersToCauses } from './gap-monitor';

const base = { flushdb: 1, flushall: 0, swapdb: 2, outputBufferDisconnections: null };

describe('countersToCauses', () => {
  it('names each counter that moved', () => {
    expect(countersToCauses(base, base)).toEqual([]);
    expect(countersToCauses(base, { ...base, flushdb: 2 })).toEqual(['flushdb']);
    expect(countersToCauses(base, { ...base, flushall: 1, swapdb: 3 })).toEqual(['flushall', 'swapdb']);
  });
});
