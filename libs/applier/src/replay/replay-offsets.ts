import type { Admin } from '@cdc/kafka';
import { planRanges, type PartitionRange, type ReplayStart } from './replay-plan';

/** A replay that cannot start or go on, with the fix named: the operator must act. */
export class ReplayError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ReplayError';
  }
}

const CHANGES = /^cdc\.(.+)\.changes$/;

/** Thin admin-client helpers for the replay: watermarks, the group's offsets and membership. */
export class ReplayOffsets {
  constructor(private readonly admin: Admin) {}

  /** Fails naming the sources that do exist when the topic does not. */
  async requireTopic(topic: string, source: string): Promise<void> {
    const topics = await this.admin.listTopics();
    if (topics.includes(topic)) return;
    const sources = topics.flatMap((t) => CHANGES.exec(t)?.[1] ?? []).sort();
    throw new ReplayError(
      `topic ${topic} does not exist, so there is nothing to replay for source "${source}". ` +
        (sources.length
          ? `Sources with a changes topic: ${sources.slice(0, 20).join(', ')}` +
            `${sources.length > 20 ? ` and ${sources.length - 20} more` : ''} (pass one with --source).`
          : 'No cdc.<source>.changes topic exists on these brokers: check KAFKA_BROKERS.'),
    );
  }

  /** Every partition's range for a fresh start, the end being the high watermark now. */
  async plan(topic: string, start: ReplayStart): Promise<PartitionRange[]> {
    const watermarks = await this.admin.fetchTopicOffsets(topic);
    const byTimestamp =
      start.kind === 'timestamp' ? await this.admin.fetchTopicOffsetsByTimestamp(topic, start.timestamp) : [];
    return planRanges(start, watermarks, byTimestamp);
  }

  /** The group's committed offset per partition (-1 where none). */
  async committed(group: string, topic: string): Promise<Map<number, string>> {
    const [entry] = await this.admin.fetchOffsets({ groupId: group, topics: [topic] });
    return new Map((entry?.partitions ?? []).map((p) => [p.partition, p.offset]));
  }

  /** Commits `positions` for the group; Kafka takes this only while the group has no members. */
  async position(group: string, topic: string, positions: Map<number, string>): Promise<void> {
    await this.admin.setOffsets({
      groupId: group,
      topic,
      partitions: [...positions].map(([partition, offset]) => ({ partition, offset })),
    });
  }

  /**
   * Waits until the group has no members. A killed run's member lingers until its session times out, so a
   * restart waits that long; a member still there after `timeoutMs` is another replay that is alive.
   */
  async awaitNoMembers(group: string, timeoutMs: number, onWait: () => void): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let told = false;
    for (;;) {
      const { groups } = await this.admin.describeGroups([group]);
      const g = groups[0];
      if (!g || g.members.length === 0) return;
      if (Date.now() > deadline)
        throw new ReplayError(
          `consumer group ${group} still has ${g.members.length} member(s) (state ${g.state}): another ` +
            'cdc replay into this table is running. Stop it first, or wait for it to finish.',
        );
      if (!told) onWait();
      told = true;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }

  /** Best effort: a finished replay leaves no group behind to show up as lag on dashboards. */
  async deleteGroup(group: string): Promise<boolean> {
    try {
      await this.admin.deleteGroups([group]);
      return true;
    } catch {
      return false;
    }
  }
}
