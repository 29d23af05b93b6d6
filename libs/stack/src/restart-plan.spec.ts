import { describe, expect, it } from 'vitest';
import {
  clusterNodeFate,
  controllerPortOf,
  enginesToRestart,
  keptAction,
  portTakenMessage,
  restartDetail,
} from './restart-plan';
import { renderServerProperties } from './engines/kafka';
import type { EngineName, EngineStatus } from './types';

const status = (name: EngineName, ready: boolean, running = ready): EngineStatus => ({
  name,
  port: 1000,
  endpoint: `x:${name}`,
  running,
  ready,
});

describe('enginesToRestart', () => {
  it('picks every engine that does not answer, running or not; none when all answer', () => {
    expect(
      enginesToRestart([status('redis', true), status('kafka', false), status('dynamodb', false, true)]),
    ).toEqual(['kafka', 'dynamodb']);
    expect(enginesToRestart([status('redis', true), status('kafka', true)])).toEqual([]);
  });

  it('puts the Redis primary first and its replica last', () => {
    const dead = enginesToRestart([
      status('redis-replica', false),
      status('kafka', false),
      status('redis', false),
    ]);
    expect(dead[0]).toBe('redis');
    expect(dead[dead.length - 1]).toBe('redis-replica');
  });
});

describe('controllerPortOf', () => {
  it('reads the controller port back from the server.properties the stack renders', () => {
    const props = renderServerProperties({ brokerPort: 40001, controllerPort: 40002, logDir: '/d' });
    expect(controllerPortOf(props)).toBe(40002);
  });

  it('is undefined when the file does not say', () => {
    expect(controllerPortOf('node.id=1\n')).toBeUndefined();
  });
});

describe('clusterNodeFate', () => {
  const nodes = [
    'a1 127.0.0.1:7001@17001 myself,master - 0 0 1 connected 0-5460',
    'b2 127.0.0.1:7002@17002 master,fail - 0 0 2 disconnected',
    'c3 127.0.0.1:7003@17003 master,fail? - 0 0 3 connected 10923-16383',
    'd4 127.0.0.1:7004@17004 slave a1 0 0 1 connected',
    'e5 127.0.0.1:7005@17005 master - 0 0 7 connected 5461-10922',
  ].join('\n');

  it('tells a replica, a primary still holding slots, and a primary whose slots moved apart', () => {
    expect(clusterNodeFate(nodes, 7004)).toBe('replica');
    expect(clusterNodeFate(nodes, 7003)).toBe('holds-slots');
    expect(clusterNodeFate(nodes, 7002)).toBe('failed-over');
  });

  it('matches the port exactly (7001 is not 17001 nor 70011) and says unknown for a node it does not list', () => {
    expect(clusterNodeFate(nodes, 7001)).toBe('holds-slots');
    expect(clusterNodeFate(nodes, 17001)).toBe('unknown');
    expect(clusterNodeFate(nodes, 700)).toBe('unknown');
    expect(clusterNodeFate('', 7001)).toBe('unknown');
  });
});

describe('restartDetail', () => {
  it('says Kafka keeps its data and the in-memory engines come back empty', () => {
    expect(restartDetail('kafka', 9092, 'single')).toBe(
      'kafka restarted on :9092 (data kept: topics, messages and consumer offsets are in its log dirs)',
    );
    expect(restartDetail('redis', 6380, 'single')).toBe(
      "redis restarted on :6380 (empty: the local stack's Redis keeps no data)",
    );
    expect(restartDetail('dynamodb', 8000, 'single')).toContain('(empty:');
  });

  it('warns that a replica follows its restarted primary into emptiness', () => {
    expect(restartDetail('redis', 6380, 'replica')).toContain(
      'its replica resyncs from it and is emptied too',
    );
    expect(restartDetail('redis-replica', 6381, 'replica')).toContain('resynced from its primary');
  });

  it('on a cluster, says whether the node’s slots kept their data', () => {
    expect(restartDetail('redis-node-2', 7002, 'cluster', 'failed-over')).toContain(
      'taken over its slots with their data',
    );
    expect(restartDetail('redis-node-4', 7004, 'cluster', 'replica')).toContain('as a replica');
    expect(restartDetail('redis-node-3', 7003, 'cluster', 'holds-slots')).toContain('they are empty');
  });
});

describe('keptAction / portTakenMessage', () => {
  it('a kept engine names its port and pid', () => {
    expect(keptAction({ ...status('kafka', true), pid: 42 })).toEqual({
      name: 'kafka',
      action: 'kept',
      port: 1000,
      endpoint: 'x:kafka',
      detail: 'kafka kept on :1000 (running, pid 42)',
    });
  });

  it('a taken port names the engine, the port and both ways out', () => {
    const m = portTakenMessage('kafka', 40001);
    expect(m).toContain('kafka');
    expect(m).toContain('40001');
    expect(m).toContain('cdc stack down && cdc stack up');
  });
});
