import { describe, expect, it } from 'vitest';
import { allOrFirstError, readinessError } from './bringup';
import { StackError } from './errors';
import { nextDelay, probeDynamo, probeKafka, probeRedis, waitReady } from './probes';
import { freePort, freePorts } from './ports';

describe('nextDelay', () => {
  it('starts short and is capped', () => {
    const seq: number[] = [];
    let d = 0;
    for (let i = 0; i < 12; i++) seq.push((d = nextDelay(d)));
    expect(seq[0]).toBe(20);
    expect(Math.max(...seq)).toBe(200);
    expect(seq).toEqual([...seq].sort((a, b) => a - b));
  });
});

describe('waitReady', () => {
  it('resolves once the probe answers, with the time since spawn', async () => {
    let calls = 0;
    const since = Date.now() - 1_000;
    const r = await waitReady(
      () => (++calls < 3 ? Promise.reject(new Error('not yet')) : Promise.resolve()),
      {
        timeoutMs: 5_000,
        since,
        gone: () => undefined,
      },
    );
    expect(r.ok).toBe(true);
    expect(calls).toBe(3);
    if (r.ok) expect(r.readyMs).toBeGreaterThanOrEqual(1_000);
  });

  it('stops as soon as the process is gone', async () => {
    let polls = 0;
    const r = await waitReady(() => Promise.reject(new Error('refused')), {
      timeoutMs: 5_000,
      since: Date.now(),
      gone: () => (++polls > 2 ? 'exit code 1' : undefined),
    });
    expect(r).toEqual({ ok: false, failure: { kind: 'exited', detail: 'exit code 1' } });
  });

  it('times out with the last probe error', async () => {
    const r = await waitReady(() => Promise.reject(new Error('ECONNREFUSED')), {
      timeoutMs: 150,
      since: Date.now(),
      gone: () => undefined,
    });
    expect(r).toEqual({ ok: false, failure: { kind: 'timeout', lastError: 'ECONNREFUSED' } });
  });
});

describe('readinessError', () => {
  it('carries the log tail and a fix', () => {
    const e = readinessError(
      'kafka',
      { kind: 'exited', detail: 'exit code 1' },
      90_000,
      'ERROR boom',
      '/s/kafka.log',
    );
    expect(e).toBeInstanceOf(StackError);
    expect(e.code).toBe('ENGINE_EXITED');
    expect(e.message).toContain('kafka exited before it was ready (exit code 1)');
    expect(e.message).toContain('Last lines of /s/kafka.log:\nERROR boom');
    const t = readinessError('dynamodb', { kind: 'timeout', lastError: 'ECONNREFUSED' }, 30_000, '');
    expect(t.code).toBe('ENGINE_TIMEOUT');
    expect(t.message).toContain('did not answer ListTables within 30 s (last error: ECONNREFUSED)');
  });
});

describe('allOrFirstError', () => {
  it('aborts the siblings and rethrows the real failure, not an abort', async () => {
    const slow = async (abort: { reason: string | undefined }): Promise<string> => {
      while (!abort.reason) await new Promise((r) => setTimeout(r, 5));
      throw new Error('aborted because another engine failed');
    };
    const failing = async (): Promise<string> => {
      await new Promise((r) => setTimeout(r, 20));
      throw new StackError('ENGINE_EXITED', 'kafka died');
    };
    await expect(allOrFirstError([slow, failing, slow])).rejects.toThrow('kafka died');
    expect(await allOrFirstError([() => Promise.resolve(1), () => Promise.resolve(2)])).toEqual([1, 2]);
  });
});

describe('probes against closed ports', () => {
  it('reject quickly instead of hanging', async () => {
    const port = await freePort();
    const t0 = Date.now();
    await expect(probeRedis(`redis://127.0.0.1:${port}`)).rejects.toThrow();
    await expect(probeKafka(`127.0.0.1:${port}`)).rejects.toThrow();
    await expect(probeDynamo(`http://127.0.0.1:${port}`)).rejects.toThrow();
    expect(Date.now() - t0).toBeLessThan(5_000);
  });
});

describe('freePort', () => {
  it('hands out distinct ports that can be bound on 127.0.0.1 and 0.0.0.0', async () => {
    const ports = [...(await freePorts(5)), await freePort({ allInterfaces: true })];
    expect(new Set(ports).size).toBe(ports.length);
    const { createServer } = await import('node:net');
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      const port = ports[ports.length - 1];
      await new Promise<void>((resolve, reject) => {
        const srv = createServer().once('error', reject);
        srv.listen(port, host, () => srv.close(() => resolve()));
      });
    }
  });
});
