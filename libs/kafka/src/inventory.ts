import type { Admin } from 'kafkajs';

/**
 * Listing and removing a source's Kafka topics and consumer groups (`cdc teardown`). A source's topics are its
 * changes topic and every topic named after it plus a dot: the DLQ (`<topic>.dlq`) and what is built on it
 * (`<topic>.dlq.accepted`). Its groups are those that committed offsets on one of them (the applier, replays,
 * anyone's own consumer), plus the ones named like the replicator's own even before their first commit.
 */
export const isSourceTopic = (topic: string, changesTopic: string): boolean =>
  topic === changesTopic || topic.startsWith(`${changesTopic}.`);

export interface TopicInfo {
  readonly topic: string;
  /** Messages held now (high - low watermark summed over partitions). */
  readonly messages: number;
}

export interface GroupInfo {
  readonly group: string;
  /** Empty, Stable, PreparingRebalance, Dead… as the coordinator reports it. */
  readonly state: string;
  readonly members: number;
}

export async function listSourceTopics(admin: Admin, changesTopic: string): Promise<TopicInfo[]> {
  const topics = (await admin.listTopics()).filter((t) => isSourceTopic(t, changesTopic)).sort();
  return Promise.all(
    topics.map(async (topic) => {
      const offsets = await admin.fetchTopicOffsets(topic);
      const messages = offsets.reduce((sum, o) => sum + Number(BigInt(o.high) - BigInt(o.low)), 0);
      return { topic, messages };
    }),
  );
}

/**
 * Groups with a committed offset on any of `topics`, plus groups `named` accepts that never committed anywhere
 * (a name alone could be another source's whose id extends this one's); with state and members.
 */
export async function listGroupsOn(
  admin: Admin,
  topics: readonly string[],
  named: (group: string) => boolean,
): Promise<GroupInfo[]> {
  const ours = new Set(topics);
  const { groups } = await admin.listGroups();
  const found: string[] = [];
  for (const { groupId, protocolType } of groups) {
    if (protocolType !== 'consumer' && protocolType !== '') continue;
    const committed = (await admin.fetchOffsets({ groupId })).filter((t) =>
      t.partitions.some((p) => BigInt(p.offset) >= 0n),
    );
    if (committed.some((t) => ours.has(t.topic)) || (committed.length === 0 && named(groupId)))
      found.push(groupId);
  }
  if (found.length === 0) return [];
  const { groups: described } = await admin.describeGroups(found);
  return described
    .map((g) => ({ group: g.groupId, state: g.state, members: g.members.length }))
    .sort((a, b) => a.group.localeCompare(b.group));
}

/** Deletes the groups (each must have no members) and then the topics. */
export async function deleteGroupsAndTopics(
  admin: Admin,
  groups: readonly string[],
  topics: readonly string[],
): Promise<void> {
  if (groups.length > 0) await admin.deleteGroups([...groups]);
  if (topics.length > 0) await admin.deleteTopics({ topics: [...topics], timeout: 30_000 });
}
