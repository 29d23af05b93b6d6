import { describe, expect, it } from 'vitest';
import { parseSentinelReplica, pickSentinelReplica } from './sentinel';

const primary = { host: '127.0.0.1', port: 7000 };
const entry = (port: number, flags: string, link: string, offset: number, primaryPort = 7000) =>
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
    'master-host',
    '127.0.0.1',
    'master-port',
    String(primaryPort),
  ]);

describe('pickSentinelReplica', () => {
  it('takes the healthy replica furthest along', () => {
    expect(
      pickSentinelReplica(
        [entry(1, 'slave', 'ok', 10), entry(2, 'slave', 'ok', 30), entry(3, 'slave', 'ok', 20)],
        primary,
      ),
    ).toEqual({ host: '127.0.0.1', port: 2 });
  });

  it('never picks one that is down, disconnected or whose link is broken', () => {
    expect(
      pickSentinelReplica(
        [
          entry(1, 'slave,s_down', 'ok', 99),
          entry(2, 'slave,disconnected', 'ok', 98),
          entry(3, 'slave', 'err', 97),
          entry(4, 'slave', 'ok', 1),
        ],
        primary,
      ),
    ).toEqual({ host: '127.0.0.1', port: 4 });
    expect(pickSentinelReplica([entry(1, 'slave,o_down', 'ok', 1)], primary)).toBeNull();
  });

  it('never picks one that still replicates another primary (not yet repointed after a failover)', () => {
    expect(
      pickSentinelReplica([entry(1, 'slave', 'ok', 99, 6999), entry(2, 'slave', 'ok', 5)], primary),
    ).toEqual({
      host: '127.0.0.1',
      port: 2,
    });
    expect(pickSentinelReplica([entry(1, 'slave', 'ok', 99, 6999)], primary)).toBeNull();
  });
});
