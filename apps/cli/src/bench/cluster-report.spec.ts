import { describe, expect, it } from 'vitest';
import { clusterMedians, clusterPair, type ClusterPhase, primariesUsPerWrite } from './cluster-report';

const phase = (name: string, writesPerS: number, primaries: number): ClusterPhase => {
  const writes = writesPerS * 10;
  const p = { writes, elapsedMs: 10_000 };
  const us = primariesUsPerWrite({ primaries }, p);
  return {
    name,
    capture: name.startsWith('B'),
    ...p,
    writesPerS,
    latencyP50Ms: 0.3,
    latencyP99Ms: 1,
    cpu: { primaries },
    ...(us === undefined ? {} : { primariesUsPerWrite: us }),
  };
};

describe('cluster bench figures', () => {
  it('the primaries’ µs per write is their cores over the writes of the window', () => {
    expect(primariesUsPerWrite({ primaries: 0.5 }, { writes: 50_000, elapsedMs: 10_000 })).toBe(100);
    expect(primariesUsPerWrite({}, { writes: 50_000, elapsedMs: 10_000 })).toBeUndefined();
    expect(primariesUsPerWrite({ primaries: 0.5 }, { writes: 0, elapsedMs: 10_000 })).toBeUndefined();
  });

  it('a pair compares B with A: the writer’s ratio, and the capacity the primaries kept (CPU per write A ÷ B)', () => {
    const pair = clusterPair(1, phase('A1', 20_000, 0.4), phase('B1', 10_000, 0.4));
    expect(pair.ratio).toBe(0.5);
    expect(pair.primariesUsOff).toBe(20);
    expect(pair.primariesUsCapture).toBe(40);
    expect(pair.capacityKept).toBe(0.5);
  });

  it('medians over the pairs; no capacity figure without CPU figures', () => {
    const pairs = [
      clusterPair(1, phase('A1', 10_000, 0.2), phase('B1', 9_000, 0.2)),
      clusterPair(2, phase('A2', 10_000, 0.2), phase('B2', 5_000, 0.2)),
      clusterPair(3, phase('A3', 10_000, 0.2), phase('B3', 8_000, 0.2)),
    ];
    expect(clusterMedians(pairs).medianRatio).toBe(0.8);
    const noCpu = { ...phase('A1', 10_000, 0.2), cpu: {} } as ClusterPhase;
    const { primariesUsPerWrite: _, ...bare } = noCpu;
    expect(clusterMedians([clusterPair(1, bare, bare)]).medianCapacityKept).toBeUndefined();
  });
});
