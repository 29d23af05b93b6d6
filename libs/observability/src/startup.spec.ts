import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DependencyError, listenError, retryDelayMs, retryDependency } from './startup';
import { settlesWithin, stageBudget, stageStopMs } from './shutdown-budget';

const silent = pino({ level: 'silent' });

describe('DependencyError', () => {
  it('reads as one line: the dependency, where, what went wrong, the fix', () => {
    const err = new DependencyError('DynamoDB', 'http://127.0.0.1:8000', 'no AWS credentials', 'export X=1');
    expect(err.message).toBe('DynamoDB at http://127.0.0.1:8000: no AWS credentials; export X=1');
  });
});

describe('retryDependency', () => {
  const down = (permanent = false) =>
    new DependencyError('Kafka', '127.0.0.1:9', 'unreachable (ECONNREFUSED)', 'start it', permanent);

  it('retries a transient failure until it answers, one warning per failed attempt', async () => {
    const lines: string[] = [];
    const log = pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) });
    let calls = 0;
    await retryDependency(
      async () => {
        if (++calls < 3) throw down();
      },
      { timeoutMs: 60_000, log, sleep: async () => undefined },
    );
    expect(calls).toBe(3);
    expect(lines).toHaveLength(2);
    expect(JSON.parse(lines[0] as string)).toMatchObject({
      dependency: 'Kafka',
      endpoint: '127.0.0.1:9',
      attempt: 1,
      msg: 'Kafka at 127.0.0.1:9: unreachable (ECONNREFUSED); attempt 1, retrying in 500 ms',
    });
  });

  it('gives up at once on a permanent failure', async () => {
    let calls = 0;
    const attempt = retryDependency(
      async () => {
        calls++;
        throw down(true);
      },
      { timeoutMs: 60_000, log: silent, sleep: async () => undefined },
    );
    await expect(attempt).rejects.toThrow('Kafka at 127.0.0.1:9: unreachable (ECONNREFUSED); start it');
    expect(calls).toBe(1);
  });

  it('gives up when one more attempt would end past the timeout, counting the attempts', async () => {
    const attempt = retryDependency(
      async () => {
        throw down();
      },
      { timeoutMs: 1_000, log: silent, sleep: (ms) => new Promise((r) => setTimeout(r, ms / 100)) },
    );
    // 500 ms waited (in theory) after the first, 1000 more would pass 1 s: two attempts.
    await expect(attempt).rejects.toThrow(/unreachable \(ECONNREFUSED\) \(\d+ attempts in \d+ s\); start it/);
  });

  it('lets an error that is not a DependencyError through untouched', async () => {
    const bug = new TypeError('x is undefined');
    await expect(retryDependency(() => Promise.reject(bug), { timeoutMs: 1_000, log: silent })).rejects.toBe(
      bug,
    );
  });

  it('backs off 0.5, 1, 2, 4 s, then every 5 s', () => {
    expect([1, 2, 3, 4, 5, 9].map(retryDelayMs)).toEqual([500, 1_000, 2_000, 4_000, 5_000, 5_000]);
  });
});

describe('listenError', () => {
  it('names the port and the fix for a port in use, and for a privileged one', () => {
    const inUse = Object.assign(new Error('listen EADDRINUSE'), { code: 'EADDRINUSE' });
    expect(listenError(inUse, '127.0.0.1', 8080).message).toMatch(
      /^HTTP server at 127\.0\.0\.1:8080: the port is already in use \(EADDRINUSE\).*set HTTP_PORT to a free port$/,
    );
    const denied = Object.assign(new Error('listen EACCES'), { code: 'EACCES' });
    expect(listenError(denied, '0.0.0.0', 80).message).toContain('set HTTP_PORT above 1023');
  });
});

describe('settlesWithin', () => {
  it('says whether the work settled in time, and never throws', async () => {
    expect(await settlesWithin(Promise.resolve(1), 10)).toBe(true);
    expect(await settlesWithin(Promise.reject(new Error('gone')), 10)).toBe(true);
    expect(await settlesWithin(new Promise(() => undefined), 10)).toBe(false);
    expect(await settlesWithin(undefined, 10)).toBe(true);
  });

  it('gives each of the three stages a third of the deadline', () => {
    expect(stageStopMs({ shutdownTimeoutMs: 15_000 })).toBe(5_000);
  });

  it('a stage is a deadline: drain plus every close never outlasts its share, even at the smallest timeout', () => {
    for (const shutdownTimeoutMs of [1_000, 3_000, 15_000, 600_000]) {
      let t = 0;
      const budget = stageBudget({ shutdownTimeoutMs }, () => t);
      const stage = stageStopMs({ shutdownTimeoutMs });
      expect(budget.drainMs).toBeGreaterThan(0);
      t += budget.drainMs; // the drain used all of its time (an engine gone)
      t += budget.left() / 2; // the first close timed out too
      t += budget.left(); // and the last
      expect(t).toBeLessThanOrEqual(stage);
      expect(budget.left()).toBe(0);
      t += 1_000;
      expect(budget.left()).toBe(0); // never negative
    }
  });
});
