import { Command, CommandRunner, Option } from 'nest-commander';
import { createDynamoClient } from '@cdc/dynamo';
import { type Admin, createKafka } from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { type ControlClient, openControlClient } from '@cdc/redis';
import { readinessOptions } from '@cdc/verifier';
import { resolveConfig } from '../endpoints';
import { fail, printJson } from '../output';
import { cdcHome } from '../paths';
import { formatPlan, planTeardown } from '../teardown/plan';
import { executePlan, gatherInventory } from '../teardown/teardown';

interface TeardownFlags {
  yes?: boolean;
  dryRun?: boolean;
  dropTables?: boolean;
  json?: boolean;
}

/** Exit status when --yes refuses because something of the source still runs. */
export const STILL_RUNNING_EXIT = 2;

@Command({
  name: 'teardown',
  description:
    "Decommission a source: list (default, a dry run) or delete (--yes) the replicator's __cdc: keys, topics, consumer groups and local checkpoints; tables only with --drop-tables",
})
export class TeardownCommand extends CommandRunner {
  async run(_args: string[], flags: TeardownFlags): Promise<void> {
    if (flags.yes && flags.dryRun) fail('--yes and --dry-run contradict each other: pick one', 64);
    const dryRun = !flags.yes;
    const { config } = await resolveConfig('reuse', true);
    const { redis: redisCfg, kafka: kafkaCfg } = config.require('redis', 'kafka');
    const progress = flags.json ? () => undefined : (line: string) => process.stderr.write(`${line}\n`);
    let redisError = '';
    let redis: ControlClient | undefined;
    let admin: Admin | undefined;
    const dynamo = createDynamoClient(config.dynamo, 3);
    try {
      redis = await openControlClient(
        redisCfg,
        'cdc-teardown',
        { maxRetriesPerRequest: 2, retryStrategy: () => null },
        (err) => (redisError = err.message),
      ).catch((err: Error) => {
        throw new Error(`cannot reach Redis (${redisError || err.message}): check REDIS_URL and REDIS_DB`);
      });
      admin = createKafka(kafkaCfg, createLogger('fatal', 'cdc-teardown', process.stderr)).admin();
      await admin.connect().catch((err: Error) => {
        throw new Error(`cannot reach Kafka (${err.message}): check KAFKA_BROKERS`);
      });
      const clients = { redis, admin, dynamo };
      const inventory = await gatherInventory(config, clients, cdcHome(), progress);
      const plan = planTeardown(inventory, {
        dropTables: flags.dropTables ?? false,
        aliveWithinMs: readinessOptions(config).aliveWithinMs as number,
      });
      if (dryRun || plan.blockers.length > 0 || plan.empty) {
        const refused = !dryRun && plan.blockers.length > 0;
        if (flags.json) printJson({ dryRun, refused, ...plan });
        else process.stdout.write(formatPlan(plan, dryRun));
        if (!dryRun && plan.blockers.length > 0) {
          process.stderr.write(
            `cdc: teardown refused: ${plan.blockers.length} part(s) of the source still run\n`,
          );
          process.exitCode = STILL_RUNNING_EXIT;
        }
        return;
      }
      const removed = await executePlan(plan, clients, progress);
      if (flags.json) return printJson({ dryRun, refused: false, ...plan, removed });
      process.stdout.write(
        `cdc teardown: source ${plan.source}: removed ${removed.redisKeys} Redis key(s), ` +
          `${removed.topics.length} topic(s) (${removed.topics.join(', ') || 'none'}), ` +
          `${removed.groups.length} consumer group(s) (${removed.groups.join(', ') || 'none'}), ` +
          `${removed.tables.length} table(s) (${removed.tables.join(', ') || 'none'}), ` +
          `${removed.localFiles.length} local file(s)\n` +
          (plan.dynamodb.drop || plan.dynamodb.tables.length === 0
            ? ''
            : `Kept DynamoDB tables: ${plan.dynamodb.tables.map((t) => t.table).join(', ')} (--drop-tables deletes them)\n`),
      );
    } catch (err) {
      fail(`teardown failed: ${(err as Error).message}`);
    } finally {
      await admin?.disconnect().catch(() => undefined);
      redis?.disconnect();
      dynamo.destroy();
    }
  }

  @Option({ flags: '--dry-run', description: 'list what would be removed, grouped by engine (the default)' })
  parseDryRun(): boolean {
    return true;
  }

  @Option({
    flags: '--yes',
    description: 'delete them (refuses while capture, an applier or the verifier runs)',
  })
  parseYes(): boolean {
    return true;
  }

  @Option({
    flags: '--drop-tables',
    description:
      "also delete the DynamoDB tables (after a cutover they are the application's data: off by default)",
  })
  parseDropTables(): boolean {
    return true;
  }

  @Option({ flags: '--json', description: 'print the plan (and what was removed) as JSON' })
  parseJson(): boolean {
    return true;
  }
}
