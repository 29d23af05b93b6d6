import { describe, expect, it } from 'vitest';
import { parseSentinelReplica, pickSentinelReplica } from './sentinel';

const entry = (port: number, flags: string, link: string, offset: number) =>
  parseSentinelReplica([
    'name',
    `127.0.0.1:${port}`,
    'ip',
    '127.0.0.1',
    'port',
    String(port),
    'flags',
    flags,
    'master-link-status',
    link,
    'slave-repl-offset',
    String(offset),
  ]);

describe('pickSentinelReplica', () => {
  it('takes the healthy replica furthest along', () => {
    expect(
      pickSentinelReplica([
        entry(1, 'slave', 'ok', 10),
        entry(2, 'slave', 'ok', 30),
        entry(3, 'slave', 'ok', 20),
      ]),
    ).toEqual({ host: '127.0.0.1', port: 2 });
  });

  it('never picks one that is down, disconnected or whose link is broken', () => {
    expect(
      pickSentinelReplica([
        entry(1, 'slave,s_down', 'ok', 99),
        entry(2, 'slave,disconnected', 'ok', 98),
        entry(3, 'slave', 'err', 97),
        entry(4, 'slave', 'ok', 1),
      ]),
    ).toEqual({ host: '127.0.0.1', port: 4 });
    expect(pickSentinelReplica([entry(1, 'slave,o_down', 'ok', 1)])).toBeNull();
  });
});
