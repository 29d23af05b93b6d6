import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import type { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { type CdcConfig, names } from '@cdc/config';
import { deleteTable, tableSummary, type TableSummary } from '@cdc/dynamo';
import { type Admin, deleteGroupsAndTopics, listGroupsOn, listSourceTopics } from '@cdc/kafka';
import { type ControlClient, controlKeys, scanControlKeys, unlinkControlKeys } from '@cdc/redis';
import { replayTablesOf, type TeardownInventory, type TeardownPlan } from './plan';

/** The three engines' clients, connected by the command. */
export interface TeardownClients {
  readonly redis: ControlClient;
  readonly admin: Admin;
  readonly dynamo: DynamoDBClient;
}

export interface Removed {
  readonly tables: readonly string[];
  readonly groups: readonly string[];
  readonly topics: readonly string[];
  readonly redisKeys: number;
  readonly localFiles: readonly string[];
}

const readJson = (path: string): Record<string, unknown> | undefined => {
  try {
    return JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch {
    return undefined;
  }
};

/** Replay checkpoints (`cdc replay`) of this source in <home>/replay, by their content: file names may clash. */
function replayCheckpoints(home: string, source: string): Array<{ file: string; table: string }> {
  const dir = join(home, 'replay');
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((f) => f.endsWith('.json'))
    .map((f) => ({ file: join(dir, f), json: readJson(join(dir, f)) }))
    .filter((c) => c.json?.source === source && typeof c.json.table === 'string')
    .map((c) => ({ file: c.file, table: c.json?.table as string }));
}

/** Everything the replicator made for the configured source, read from the engines and <home>. */
export async function gatherInventory(
  config: CdcConfig,
  clients: TeardownClients,
  home: string,
  progress: (line: string) => void,
): Promise<TeardownInventory> {
  const source = config.sourceId;
  progress(`redis: scanning for __cdc: keys…`);
  let lastReport = 0;
  const redisKeys = await scanControlKeys(clients.redis, (node, found) => {
    if (Date.now() - lastReport < 2_000) return;
    lastReport = Date.now();
    progress(`redis ${node}: ${found} __cdc: keys so far…`);
  });
  const alive = await clients.redis.get(controlKeys.alive(source));

  progress('kafka: listing topics and consumer groups…');
  const topics = await listSourceTopics(clients.admin, config.topic);
  const ownGroup = (g: string) =>
    g === config.applierGroup ||
    g.startsWith(`${names.applierGroup(source, '')}`) ||
    g.startsWith(`${names.replayGroup(source, '')}`);
  const groups = await listGroupsOn(
    clients.admin,
    topics.map((t) => t.topic),
    ownGroup,
  );

  const replays = replayCheckpoints(home, source);
  const candidates = [
    ...new Set([
      config.table,
      ...replayTablesOf(
        groups.map((g) => g.group),
        source,
      ),
      ...replays.map((r) => r.table),
    ]),
  ];
  progress(`dynamodb: looking for ${candidates.length} table(s)…`);
  const tables = (await Promise.all(candidates.map((t) => tableSummary(clients.dynamo, t)))).filter(
    (t): t is TableSummary => t !== null,
  );

  const localFiles = [
    join(home, 'snapshot', `${source}.json`),
    ...candidates.map((t) => join(home, 'verify', `${source}-${t}.json`)),
    ...replays.map((r) => r.file),
  ].filter((f) => existsSync(f));

  return {
    source,
    now: Date.now(),
    redisKeys,
    captureAliveAt: alive === null ? null : Number(alive),
    topics,
    groups,
    tables,
    localFiles: [...new Set(localFiles)].sort(),
  };
}

/**
 * Removes what the plan lists, in the reverse order of discovery: tables (found through the replay groups),
 * then groups (found through their offsets on the topics), then topics, then the Redis keys (the heartbeat
 * among them tells a rerun whether capture runs), then local files. A teardown interrupted half-way finds the
 * rest when run again.
 */
export async function executePlan(
  plan: TeardownPlan,
  clients: TeardownClients,
  progress: (line: string) => void,
): Promise<Removed> {
  const tables: string[] = [];
  if (plan.dynamodb.drop) {
    for (const t of plan.dynamodb.tables) {
      progress(`dynamodb: deleting table ${t.table}…`);
      if (await deleteTable(clients.dynamo, t.table)) tables.push(t.table);
    }
  }
  const groups = plan.kafka.groups.map((g) => g.group);
  const topics = plan.kafka.topics.map((t) => t.topic);
  progress(`kafka: deleting ${groups.length} consumer group(s) and ${topics.length} topic(s)…`);
  await deleteGroupsAndTopics(clients.admin, groups, topics);
  progress(`redis: removing ${plan.redis.keys.length} key(s)…`);
  const redisKeys = await unlinkControlKeys(clients.redis, plan.redis.keys);
  for (const f of plan.local.files) rmSync(f, { force: true });
  return { tables, groups, topics, redisKeys, localFiles: plan.local.files };
}
