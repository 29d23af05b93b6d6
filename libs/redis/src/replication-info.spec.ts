import { describe, expect, it } from 'vitest';
import { parseReplication, primaryLinkId } from './replication-info';

describe('parseReplication', () => {
  it('reads a replica’s history, offset, link and primary', () => {
    const info = parseReplication(
      '# Replication\r\nrole:slave\r\nmaster_host:127.0.0.1\r\nmaster_port:7001\r\nmaster_link_status:down\r\n' +
        'master_replid:d110\r\nmaster_replid2:0000\r\nmaster_repl_offset:37441689\r\n',
    );
    expect(info).toEqual({
      role: 'slave',
      replid: 'd110',
      offset: 37441689n,
      linkUp: false,
      primary: { host: '127.0.0.1', port: 7001 },
      replicas: [],
    });
  });

  it('reads a primary’s replicas', () => {
    const info = parseReplication(
      'role:master\r\nconnected_slaves:2\r\nslave0:ip=127.0.0.1,port=7002,state=online,offset=50,lag=0\r\n' +
        'slave1:ip=10.0.0.9,port=7003,state=wait_bgsave,offset=0,lag=1\r\nmaster_replid:ab\r\nmaster_repl_offset:50\r\n',
    );
    expect(info.role).toBe('master');
    expect(info.linkUp).toBeNull();
    expect(info.replicas).toEqual([
      { host: '127.0.0.1', port: 7002, state: 'online', offset: 50, lag: 0 },
      { host: '10.0.0.9', port: 7003, state: 'wait_bgsave', offset: 0, lag: 1 },
    ]);
  });
});

describe('primaryLinkId', () => {
  it('finds the link client (flags M) and nothing else', () => {
    const list =
      'id=7 addr=127.0.0.1:5000 laddr=127.0.0.1:7002 fd=8 name=cdc flags=N db=0\n' +
      'id=36 addr=127.0.0.1:7001 laddr=127.0.0.1:43846 fd=7 name= age=21 idle=10 flags=M db=0\n';
    expect(primaryLinkId(list)).toBe('36');
    expect(primaryLinkId('id=7 addr=x flags=N db=0\n')).toBeNull();
    expect(primaryLinkId('')).toBeNull();
  });
});
