import type { EngineAction, EngineName, EngineStatus, RedisTopology } from './types';

/**
 * Pure parts of `stackUp` on a partly alive stack: which engines to restart, in what order, and what to tell
 * the user about each one's data. The adapter is restart.ts.
 */

/** What became of a dead Redis Cluster node's shard before it was restarted (see clusterNodeFate). */
export type ClusterFate = 'replica' | 'failed-over' | 'holds-slots' | 'unknown';

/** Engines to bring back: every one that does not answer. Redis nodes first, the replica after its primary. */
export function enginesToRestart(statuses: readonly EngineStatus[]): EngineName[] {
  const order = (n: EngineName): number => (n === 'redis' ? 0 : n === 'redis-replica' ? 2 : 1);
  return statuses
    .filter((s) => !s.ready)
    .map((s) => s.name)
    .sort((a, b) => order(a) - order(b));
}

/** The controller port of the stack's Kafka, read back from the server.properties it was started with. */
export function controllerPortOf(serverProperties: string): number | undefined {
  const m = /^controller\.quorum\.voters=\d+@[^:\s]+:(\d+)\s*$/m.exec(serverProperties);
  return m ? Number(m[1]) : undefined;
}

/**
 * A node's role in a CLUSTER NODES reply (https://redis.io/docs/latest/commands/cluster-nodes/): a replica, a
 * primary that still serves slots (nobody took over yet), or a former primary whose slots moved to its
 * promoted replica.
 */
export function clusterNodeFate(clusterNodes: string, port: number): ClusterFate {
  for (const line of clusterNodes.split('\n')) {
    const f = line.trim().split(' ');
    const addr = f[1] ?? '';
    if (!new RegExp(`:${port}(@|$)`).test(addr.split(',')[0] ?? '')) continue;
    const flags = (f[2] ?? '').split(',');
    if (flags.includes('slave')) return 'replica';
    return f.length > 8 ? 'holds-slots' : 'failed-over';
  }
  return 'unknown';
}

const EMPTY_REDIS = "empty: the local stack's Redis keeps no data";

/** The line `cdc stack up` prints for a restarted engine. */
export function restartDetail(
  name: EngineName,
  port: number,
  topology: RedisTopology,
  fate: ClusterFate = 'unknown',
): string {
  const on = `${name} restarted on :${port}`;
  if (name === 'kafka') return `${on} (data kept: topics, messages and consumer offsets are in its log dirs)`;
  if (name === 'dynamodb')
    return `${on} (empty: the local stack's DynamoDB Local keeps its tables in memory; restart the applier to recreate its table)`;
  if (name === 'redis-replica') return `${on} (resynced from its primary)`;
  if (topology === 'cluster') {
    if (fate === 'replica') return `${on} (rejoined the cluster as a replica and resynced from its primary)`;
    if (fate === 'failed-over')
      return `${on} (rejoined the cluster as a replica: its replica had taken over its slots with their data)`;
    return `${on} (rejoined the cluster; ${EMPTY_REDIS} and no replica took over its slots, so they are empty)`;
  }
  if (topology === 'replica') return `${on} (${EMPTY_REDIS}; its replica resyncs from it and is emptied too)`;
  return `${on} (${EMPTY_REDIS})`;
}

export function keptAction(s: EngineStatus): EngineAction {
  const pid = s.pid !== undefined ? `, pid ${s.pid}` : '';
  return {
    name: s.name,
    action: 'kept',
    port: s.port,
    endpoint: s.endpoint,
    detail: `${s.name} kept on :${s.port} (running${pid})`,
  };
}

export function startedAction(s: EngineStatus): EngineAction {
  return {
    name: s.name,
    action: 'started',
    port: s.port,
    endpoint: s.endpoint,
    detail: `${s.name} started on :${s.port}`,
  };
}

/** The error for an engine whose own port another process holds now. */
export function portTakenMessage(name: EngineName, port: number): string {
  return (
    `${name} is down and its port ${port} is now taken by another process, so it cannot be restarted there. ` +
    `Free the port (\`ss -ltnp 'sport = :${port}'\` shows who holds it) and run \`cdc stack up\` again, or ` +
    'start a fresh stack on new ports with `cdc stack down && cdc stack up` (then point a running replicator ' +
    'at the new endpoints).'
  );
}
