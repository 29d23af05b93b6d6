import { describe, expect, it } from 'vitest';
import { formatPlan, planTeardown, replayTablesOf, type TeardownInventory } from './plan';

const NOW = 1_700_000_000_000;
const S = 'orders';

const inventory = (over: Partial<TeardownInventory> = {}): TeardownInventory => ({
  source: S,
  now: NOW,
  redisKeys: [
    {
      node: '127.0.0.1:6379',
      keys: [`__cdc:alive:${S}`, `__cdc:gaps:${S}`, '__cdc:ver', '__cdc:epoch', `__cdc:verify:${S}:cdc_${S}`],
    },
  ],
  captureAliveAt: NOW - 60_000,
  topics: [
    { topic: `cdc.${S}.changes`, messages: 12 },
    { topic: `cdc.${S}.changes.dlq`, messages: 1 },
  ],
  groups: [{ group: `cdc-applier.${S}.cdc_${S}`, state: 'Empty', members: 0 }],
  tables: [{ table: `cdc_${S}`, items: 10, status: 'ACTIVE' }],
  localFiles: [],
  ...over,
});
const opts = { dropTables: false, aliveWithinMs: 10_000 };

describe('planTeardown', () => {
  it('lists the source’s keys, topics, groups and tables; alone on the Redis, the shared keys go too', () => {
    const plan = planTeardown(inventory(), opts);
    expect(plan.redis.keys).toEqual([
      `__cdc:alive:${S}`,
      `__cdc:gaps:${S}`,
      `__cdc:verify:${S}:cdc_${S}`,
      '__cdc:ver',
      '__cdc:epoch',
    ]);
    expect(plan.redis.keptShared).toBe(0);
    expect(plan.kafka.topics.map((t) => t.topic)).toEqual([`cdc.${S}.changes`, `cdc.${S}.changes.dlq`]);
    expect(plan.kafka.groups.map((g) => g.group)).toEqual([`cdc-applier.${S}.cdc_${S}`]);
    expect(plan.dynamodb).toEqual({
      tables: [{ table: `cdc_${S}`, items: 10, status: 'ACTIVE' }],
      drop: false,
    });
    expect(plan.blockers).toEqual([]);
    expect(plan.empty).toBe(false);
  });

  it('keeps the shared version keys while another source captures the same Redis, and names it', () => {
    const plan = planTeardown(
      inventory({
        redisKeys: [
          { node: 'a:1', keys: [`__cdc:alive:${S}`, '__cdc:ver:{x1}'] },
          { node: 'b:2', keys: ['__cdc:alive:billing', '__cdc:epoch:{x2}'] },
        ],
      }),
      opts,
    );
    expect(plan.redis.keys).toEqual([`__cdc:alive:${S}`]);
    expect(plan.redis.keptShared).toBe(2);
    expect(plan.redis.otherSources).toEqual(['billing']);
  });

  it('blocks on a fresh heartbeat, a group with members and a held verifier lease, saying how to stop each', () => {
    const plan = planTeardown(
      inventory({
        captureAliveAt: NOW - 1_500,
        groups: [{ group: `cdc-applier.${S}.cdc_${S}`, state: 'Stable', members: 2 }],
        redisKeys: [{ node: 'a:1', keys: [`__cdc:lease:${S}:cdc_${S}:shardId-1`] }],
      }),
      opts,
    );
    expect(plan.blockers).toHaveLength(3);
    expect(plan.blockers[0]).toMatch(
      /^capture of source orders was alive 1\.5 s ago \(its heartbeat\): stop it/,
    );
    expect(plan.blockers[1]).toContain(
      `consumer group cdc-applier.${S}.cdc_${S} has 2 active members (Stable)`,
    );
    expect(plan.blockers[2]).toContain("the verifier's stream reader holds 1 shard lease");
  });

  it('a heartbeat older than the window does not block', () => {
    expect(planTeardown(inventory({ captureAliveAt: NOW - 10_001 }), opts).blockers).toEqual([]);
  });

  it('is empty when nothing is left; a table that is kept does not count unless --drop-tables', () => {
    const nothing = inventory({ redisKeys: [], topics: [], groups: [], localFiles: [] });
    expect(planTeardown(nothing, opts).empty).toBe(true);
    expect(planTeardown(nothing, { ...opts, dropTables: true }).empty).toBe(false);
    expect(planTeardown({ ...nothing, tables: [] }, { ...opts, dropTables: true }).empty).toBe(true);
  });
});

describe('replayTablesOf', () => {
  it('reads replay targets from the replay groups of this source only, dry runs aside', () => {
    expect(
      replayTablesOf(
        [
          `cdc-replay.${S}.replay1`,
          `cdc-replay.${S}.replay1.dry-run.123.456`,
          'cdc-replay.billing.replay2',
          `cdc-applier.${S}.cdc_${S}`,
        ],
        S,
      ),
    ).toEqual(['replay1']);
  });
});

describe('formatPlan', () => {
  it('groups by engine with counts and says nothing was deleted', () => {
    const text = formatPlan(planTeardown(inventory(), opts), true);
    expect(text).toContain('cdc teardown: source orders (dry run: nothing is deleted)');
    expect(text).toContain('Redis keys (5):');
    expect(text).toContain('Kafka topics (2):\n  cdc.orders.changes (12 messages)');
    expect(text).toContain('DynamoDB tables, kept (add --drop-tables to delete them) (1):');
    expect(text).toContain('Local checkpoint files: none');
    expect(text).toContain('Nothing was deleted. Delete these with: cdc teardown --yes');
  });

  it('cuts long lists at 20 lines and shows the blockers', () => {
    const keys = Array.from({ length: 25 }, (_, i) => `__cdc:hb:${S}:${i}`);
    const plan = planTeardown(
      inventory({ redisKeys: [{ node: 'a:1', keys }], captureAliveAt: NOW - 100 }),
      opts,
    );
    const text = formatPlan(plan, true);
    expect(text).toContain('… and 5 more (--json lists all)');
    expect(text).toContain('Still running (teardown --yes refuses until they stop):');
  });
});
