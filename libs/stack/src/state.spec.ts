import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  endpointsOf,
  isStaleLock,
  parseState,
  readState,
  removeState,
  withLock,
  writeState,
  type StackState,
} from './state';
import { scratch } from './scratch.spec-helper';

const sample: StackState = {
  version: 1,
  id: 'abcd',
  mode: 'native',
  createdAt: '2025-01-01T00:00:00.000Z',
  engines: {
    redis: { pid: 10, port: 40001, endpoint: 'redis://127.0.0.1:40001', startedAt: 't', readyMs: 40 },
    kafka: { pid: 11, port: 40002, endpoint: '127.0.0.1:40002', startedAt: 't', logFile: '/x/kafka.log' },
    dynamodb: { containerId: 'f00d', port: 40003, endpoint: 'http://127.0.0.1:40003', startedAt: 't' },
  },
};

describe('parseState', () => {
  it('round-trips a valid state', () => {
    expect(parseState(JSON.stringify(sample))).toEqual(sample);
    expect(parseState(JSON.stringify({ ...sample, fastStart: true }))?.fastStart).toBe(true);
  });

  it('rejects garbage, wrong versions and malformed engines', () => {
    expect(parseState('')).toBeUndefined();
    expect(parseState('{"version":1')).toBeUndefined();
    expect(parseState('[]')).toBeUndefined();
    expect(parseState(JSON.stringify({ ...sample, version: 2 }))).toBeUndefined();
    expect(parseState(JSON.stringify({ ...sample, mode: 'podman' }))).toBeUndefined();
    const noPid = { ...sample, engines: { redis: { port: 1, endpoint: 'x', startedAt: 't' } } };
    expect(parseState(JSON.stringify(noPid))).toBeUndefined();
    const badPort = { ...sample, engines: { redis: { pid: 1, port: 70000, endpoint: 'x', startedAt: 't' } } };
    expect(parseState(JSON.stringify(badPort))).toBeUndefined();
  });

  it('accepts a partial state (a stackUp that died half-way) but then has no endpoints', () => {
    const partial = { ...sample, engines: { redis: sample.engines.redis } };
    const parsed = parseState(JSON.stringify(partial));
    expect(parsed?.engines.redis?.pid).toBe(10);
    expect(parsed && endpointsOf(parsed)).toBeUndefined();
    expect(endpointsOf(sample)).toEqual({
      redisUrl: 'redis://127.0.0.1:40001',
      kafkaBrokers: '127.0.0.1:40002',
      dynamodbEndpoint: 'http://127.0.0.1:40003',
    });
  });
});

describe('state file', () => {
  it('writes atomically, reads back, removes', () => {
    const dir = join(scratch('state'), 'nested');
    expect(readState(dir)).toBeUndefined();
    writeState(dir, sample);
    expect(readState(dir)).toEqual(sample);
    removeState(dir);
    expect(readState(dir)).toBeUndefined();
  });
});

describe('withLock', () => {
  it('serialises concurrent holders on the same dir', async () => {
    const dir = scratch('lock');
    const events: string[] = [];
    const task = (name: string) =>
      withLock(dir, async () => {
        events.push(`${name}+`);
        await new Promise((r) => setTimeout(r, 50));
        events.push(`${name}-`);
        return name;
      });
    const results = await Promise.all([task('a'), task('b'), task('c')]);
    expect(results).toEqual(['a', 'b', 'c']);
    for (let i = 0; i < events.length; i += 2) expect(events[i]?.[0]).toBe(events[i + 1]?.[0]);
    expect(existsSync(join(dir, 'stack.lock'))).toBe(false);
  });

  it('releases the lock when the holder throws', async () => {
    const dir = scratch('lock');
    await expect(withLock(dir, () => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    expect(await withLock(dir, () => Promise.resolve('next'))).toBe('next');
  });

  it('takes over a lock whose holder is dead', async () => {
    const dir = scratch('lock');
    writeFileSync(
      join(dir, 'stack.lock'),
      JSON.stringify({ pid: 2 ** 22 + 4321, token: 'x', at: Date.now() }),
    );
    const t0 = Date.now();
    expect(
      await withLock(dir, () => Promise.resolve(readFileSync(join(dir, 'stack.lock'), 'utf8'))),
    ).toContain(`"pid":${process.pid}`);
    expect(Date.now() - t0).toBeLessThan(1_000);
  });

  it('judges staleness by holder and age', () => {
    expect(isStaleLock({ pid: process.pid, token: 't', at: 0 }, 10, 60_000)).toBe(false);
    expect(isStaleLock({ pid: process.pid, token: 't', at: 0 }, 61_000, 60_000)).toBe(true);
    expect(isStaleLock({ pid: 2 ** 22 + 4321, token: 't', at: 0 }, 10, 60_000)).toBe(true);
    expect(isStaleLock(undefined, 100, 60_000)).toBe(false); // possibly being written right now
    expect(isStaleLock(undefined, 6_000, 60_000)).toBe(true);
  });
});
