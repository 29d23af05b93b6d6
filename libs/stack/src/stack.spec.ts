import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { stackDown, stackStatus, StackError } from './index';
import { scratch } from './scratch.spec-helper';

describe('stackDown / stackStatus without a stack', () => {
  it('report nothing and do not fail', async () => {
    const stateDir = scratch('empty');
    expect(await stackStatus({ stateDir })).toEqual({ engines: [] });
    expect(await stackDown({ stateDir })).toEqual({ stopped: [] });
  });

  it('ignore dead pids in a stale state.json (after a reboot) and remove it', async () => {
    const stateDir = scratch('stale');
    const dead = 2 ** 22 + 777;
    const rec = (port: number, endpoint: string) => ({ pid: dead, port, endpoint, startedAt: 't' });
    const state = {
      version: 1,
      id: 'x',
      mode: 'native',
      createdAt: 't',
      engines: {
        redis: rec(1, 'redis://127.0.0.1:1'),
        kafka: rec(2, '127.0.0.1:2'),
        dynamodb: rec(3, 'http://127.0.0.1:3'),
      },
    };
    writeFileSync(join(stateDir, 'state.json'), JSON.stringify(state));
    const status = await stackStatus({ stateDir });
    expect(status.engines.map((e) => [e.name, e.running, e.ready])).toEqual([
      ['redis', false, false],
      ['kafka', false, false],
      ['dynamodb', false, false],
    ]);
    const { stopped } = await stackDown({ stateDir });
    expect(stopped.map((e) => e.name).sort()).toEqual(['dynamodb', 'kafka', 'redis']);
    expect(await stackStatus({ stateDir })).toEqual({ engines: [] });
  });

  it('StackError keeps its code', () => {
    const e = new StackError('FETCH_FAILED', 'x');
    expect(e).toBeInstanceOf(Error);
    expect(e.code).toBe('FETCH_FAILED');
    expect(e.name).toBe('StackError');
  });
});
