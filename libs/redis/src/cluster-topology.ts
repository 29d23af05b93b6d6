/**
 * A Redis Cluster's shards as capture sees them (CLUSTER SHARDS, Redis 7.0+:
 * https://redis.io/docs/latest/commands/cluster-shards/), and what changed between two views. Pure: the adapter
 * that asks the nodes is in cluster-source.ts. A shard is named by its primary's node id: a failover gives it a
 * new name, which is right, because its replication history (and so its version positions) is new too.
 */
export const CLUSTER_SLOTS = 16384;

export interface ClusterNode {
  readonly id: string;
  readonly host: string;
  readonly port: number;
  readonly role: 'master' | 'replica';
  /** online | failed | loading */
  readonly health: string;
  readonly offset: number;
}

export interface ClusterShard {
  /** The primary's node id. */
  readonly id: string;
  /** Inclusive [start, end] ranges. */
  readonly ranges: ReadonlyArray<readonly [number, number]>;
  readonly primary: ClusterNode;
  readonly replicas: readonly ClusterNode[];
}

export interface ClusterTopology {
  readonly shards: readonly ClusterShard[];
  /** Slot -> index in `shards`, -1 where no shard serves the slot. */
  readonly owner: Int16Array;
}

/** A RESP2 map as a flat [k, v, k, v] array. */
function fields(flat: readonly unknown[]): Map<string, unknown> {
  const m = new Map<string, unknown>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(String(flat[i]), flat[i + 1]);
  return m;
}

const text = (v: unknown): string =>
  typeof v === 'string' ? v : typeof v === 'number' ? String(v) : Buffer.isBuffer(v) ? v.toString() : '';

function node(flat: readonly unknown[]): ClusterNode {
  const f = fields(flat);
  return {
    id: text(f.get('id')),
    host: text(f.get('ip')) || text(f.get('endpoint')),
    port: Number(text(f.get('port')) || text(f.get('tls-port')) || 0),
    role: text(f.get('role')) === 'master' ? 'master' : 'replica',
    health: text(f.get('health')) || 'online',
    offset: Number(text(f.get('replication-offset')) || 0),
  };
}

/** Parses a CLUSTER SHARDS reply. Shards without slots (an empty primary being added) are kept. */
export function parseClusterShards(reply: readonly unknown[]): ClusterTopology {
  const shards: ClusterShard[] = [];
  for (const raw of reply) {
    const f = fields(raw as unknown[]);
    const flatSlots = ((f.get('slots') as unknown[] | undefined) ?? []).map(Number);
    const ranges: Array<[number, number]> = [];
    for (let i = 0; i + 1 < flatSlots.length; i += 2)
      ranges.push([flatSlots[i] as number, flatSlots[i + 1] as number]);
    const nodes = ((f.get('nodes') as unknown[][] | undefined) ?? []).map(node);
    // During a failover a shard can briefly list two masters or none; the healthy master wins.
    const masters = nodes.filter((n) => n.role === 'master');
    const primary = masters.find((n) => n.health === 'online') ?? masters[0];
    if (!primary) continue;
    shards.push({
      id: primary.id,
      ranges,
      primary,
      replicas: nodes.filter((n) => n !== primary && n.role === 'replica'),
    });
  }
  shards.sort(
    (a, b) =>
      (a.ranges[0]?.[0] ?? CLUSTER_SLOTS) - (b.ranges[0]?.[0] ?? CLUSTER_SLOTS) || a.id.localeCompare(b.id),
  );
  const owner = new Int16Array(CLUSTER_SLOTS).fill(-1);
  shards.forEach((s, i) => {
    for (const [a, b] of s.ranges) owner.fill(i, a, b + 1);
  });
  return { shards, owner };
}

/** The shard serving `slot`, or undefined while nobody does. */
export function shardOf(t: ClusterTopology, slot: number): ClusterShard | undefined {
  const i = t.owner[slot] ?? -1;
  return i < 0 ? undefined : t.shards[i];
}

export interface TopologyChange {
  /** Slots whose shard changed (moved, failed over, or lost their owner), ascending. */
  readonly slots: readonly number[];
  /** Shards of the new view that did not exist in the old (by primary id): new shards and failovers. */
  readonly newShards: readonly string[];
  /** Shards of the old view gone from the new. */
  readonly goneShards: readonly string[];
}

/**
 * What changed between two views: the slots whose owner is another shard (a primary id) now. A failover
 * changes the owner of every slot of the shard (its primary is a new node, with a new history); a reshard only
 * the moved slots. These are exactly the slots whose notifications may have been missed in between.
 */
export function topologyChange(before: ClusterTopology, after: ClusterTopology): TopologyChange {
  const slots: number[] = [];
  for (let s = 0; s < CLUSTER_SLOTS; s++) {
    const a = shardOf(before, s)?.id;
    const b = shardOf(after, s)?.id;
    if (a !== b) slots.push(s);
  }
  const ids = (t: ClusterTopology) => new Set(t.shards.map((s) => s.id));
  const [old, now] = [ids(before), ids(after)];
  return {
    slots,
    newShards: [...now].filter((id) => !old.has(id)),
    goneShards: [...old].filter((id) => !now.has(id)),
  };
}

/** `0-5460,5462` style text of a sorted slot list, for logs and the gap record. */
export function formatSlots(slots: readonly number[]): string {
  const parts: string[] = [];
  for (let i = 0; i < slots.length;) {
    let j = i;
    while (j + 1 < slots.length && (slots[j + 1] as number) === (slots[j] as number) + 1) j++;
    parts.push(i === j ? String(slots[i]) : `${slots[i]}-${slots[j]}`);
    i = j + 1;
  }
  return parts.join(',');
}
