import type { GroupInfo, TopicInfo } from '@cdc/kafka';
import type { TableSummary } from '@cdc/dynamo';
import { controlKeyOwner, type NodeControlKeys } from '@cdc/redis';

/**
 * `cdc teardown` (decommissioning a source): what exists, what would be removed, and what still runs. Pure;
 * teardown.ts gathers the inventory from the engines and carries the plan out.
 */
export interface TeardownInventory {
  readonly source: string;
  readonly now: number;
  /** Every `__cdc:` key, per node (one node unless the source is a cluster). */
  readonly redisKeys: readonly NodeControlKeys[];
  /** Epoch ms of capture's last heartbeat tick (controlKeys.alive), null when absent. */
  readonly captureAliveAt: number | null;
  readonly topics: readonly TopicInfo[];
  readonly groups: readonly GroupInfo[];
  readonly tables: readonly TableSummary[];
  readonly localFiles: readonly string[];
}

export interface TeardownOptions {
  /** Delete the DynamoDB tables too; off by default: after a cutover the table is the application's data. */
  readonly dropTables: boolean;
  /** A heartbeat younger than this means capture runs (cdc status's aliveWithinMs). */
  readonly aliveWithinMs: number;
}

export interface TeardownPlan {
  readonly source: string;
  readonly redis: {
    /** This source's keys, plus the shared ones when no other source uses this Redis. */
    readonly keys: readonly string[];
    /** Shared keys (version counters, epoch markers) left because other sources still capture here. */
    readonly keptShared: number;
    readonly otherSources: readonly string[];
  };
  readonly kafka: { readonly groups: readonly GroupInfo[]; readonly topics: readonly TopicInfo[] };
  readonly dynamodb: { readonly tables: readonly TableSummary[]; readonly drop: boolean };
  readonly local: { readonly files: readonly string[] };
  /** What still runs; `--yes` refuses while any is listed. Each names the process and how to stop it. */
  readonly blockers: readonly string[];
  /** Nothing of the source is left to remove (tables count only when they would be dropped). */
  readonly empty: boolean;
}

/** Tables replays of this source wrote to, from their group names (names.replayGroup), dry runs aside. */
export function replayTablesOf(groups: readonly string[], source: string): string[] {
  const prefix = `cdc-replay.${source}.`;
  return groups
    .filter((g) => g.startsWith(prefix) && !g.includes('.dry-run.'))
    .map((g) => g.slice(prefix.length))
    .filter((t) => t.length > 0);
}

const LEASE_TTL_S = 15; // RedisShardLeases' default time to live

export function planTeardown(inv: TeardownInventory, opts: TeardownOptions): TeardownPlan {
  const own: string[] = [];
  const shared: string[] = [];
  const others = new Set<string>();
  for (const { keys } of inv.redisKeys) {
    for (const key of keys) {
      const owner = controlKeyOwner(key, inv.source);
      if (owner.kind === 'source') own.push(key);
      else if (owner.kind === 'shared') shared.push(key);
      else others.add(owner.source);
    }
  }
  const otherSources = [...others].sort();
  const keys = otherSources.length === 0 ? [...own, ...shared] : own;

  const blockers: string[] = [];
  if (inv.captureAliveAt !== null && inv.now - inv.captureAliveAt < opts.aliveWithinMs) {
    const ago = ((inv.now - inv.captureAliveAt) / 1000).toFixed(1);
    blockers.push(
      `capture of source ${inv.source} was alive ${ago} s ago (its heartbeat): stop it (SIGTERM the capture ` +
        `app or \`cdc run\`), then retry once the heartbeat is older than ${Math.round(opts.aliveWithinMs / 1000)} s`,
    );
  }
  for (const g of inv.groups.filter((x) => x.members > 0)) {
    blockers.push(
      `consumer group ${g.group} has ${g.members} active member${g.members > 1 ? 's' : ''} (${g.state}): ` +
        'stop the applier / replay / consumer using it (SIGTERM: it drains and leaves the group), then retry',
    );
  }
  const leases = own.filter((k) => k.startsWith(`__cdc:lease:${inv.source}:`));
  if (leases.length > 0) {
    blockers.push(
      `the verifier's stream reader holds ${leases.length} shard lease${leases.length > 1 ? 's' : ''} ` +
        `(${leases[0]}${leases.length > 1 ? ', …' : ''}): stop the verifier (a killed one's leases expire ` +
        `within ${LEASE_TTL_S} s), then retry`,
    );
  }
  const empty =
    keys.length === 0 &&
    inv.topics.length === 0 &&
    inv.groups.length === 0 &&
    inv.localFiles.length === 0 &&
    (!opts.dropTables || inv.tables.length === 0);
  return {
    source: inv.source,
    redis: { keys, keptShared: otherSources.length > 0 ? shared.length : 0, otherSources },
    kafka: { groups: inv.groups, topics: inv.topics },
    dynamodb: { tables: inv.tables, drop: opts.dropTables },
    local: { files: inv.localFiles },
    blockers,
    empty,
  };
}

const MAX_LISTED = 20;

function section(title: string, lines: readonly string[]): string[] {
  if (lines.length === 0) return [`${title}: none`];
  const shown = lines.slice(0, MAX_LISTED).map((l) => `  ${l}`);
  if (lines.length > MAX_LISTED) shown.push(`  … and ${lines.length - MAX_LISTED} more (--json lists all)`);
  return [`${title} (${lines.length}):`, ...shown];
}

/** The human view of a plan, grouped by engine with counts. */
export function formatPlan(plan: TeardownPlan, dryRun: boolean): string {
  const out = [
    `cdc teardown: source ${plan.source}${dryRun ? ' (dry run: nothing is deleted)' : ''}`,
    '',
    ...section('Redis keys', plan.redis.keys),
  ];
  if (plan.redis.keptShared > 0)
    out.push(
      `  kept: ${plan.redis.keptShared} version/epoch keys shared with other sources on this Redis ` +
        `(${plan.redis.otherSources.join(', ')})`,
    );
  out.push(
    ...section(
      'Kafka topics',
      plan.kafka.topics.map((t) => `${t.topic} (${t.messages} messages)`),
    ),
  );
  out.push(
    ...section(
      'Kafka consumer groups',
      plan.kafka.groups.map(
        (g) => `${g.group} (${g.state}, ${g.members} member${g.members === 1 ? '' : 's'})`,
      ),
    ),
  );
  const tables = plan.dynamodb.tables.map((t) => `${t.table} (~${t.items} items)`);
  out.push(
    ...section(
      plan.dynamodb.drop ? 'DynamoDB tables' : 'DynamoDB tables, kept (add --drop-tables to delete them)',
      tables,
    ),
  );
  out.push(...section('Local checkpoint files', plan.local.files));
  if (plan.blockers.length > 0)
    out.push(
      '',
      'Still running (teardown --yes refuses until they stop):',
      ...plan.blockers.map((b) => `  - ${b}`),
    );
  if (plan.empty) out.push('', 'Nothing of this source is left to remove.');
  else if (dryRun)
    out.push(
      '',
      `Nothing was deleted. Delete these with: cdc teardown --yes${plan.dynamodb.drop ? ' --drop-tables' : ''}`,
    );
  return `${out.join('\n')}\n`;
}
