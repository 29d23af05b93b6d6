import { Command, CommandRunner, Option } from 'nest-commander';
import { type Admin, createKafka } from '@cdc/kafka';
import { createLogger } from '@cdc/observability';
import { type ControlClient, openControlClient } from '@cdc/redis';
import { type ReadinessOptions, StatusCollector, type StatusReport } from '@cdc/verifier';
import { resolveConfig } from '../endpoints';
import { fail, printJson } from '../output';

interface StatusFlags {
  json?: boolean;
  maxConsumerLag?: number;
  maxLagP99?: number;
}

/** Exit status when the verdict is NOT READY (1 stays for "could not even ask"). */
export const NOT_READY_EXIT = 2;

/** The human view: one line per check, then the verdict. */
export function formatStatus(report: StatusReport): string {
  const lines = [`cdc status: source ${report.source}, table ${report.table}`, ''];
  for (const c of report.checks) lines.push(`  ${c.ok ? 'ok  ' : 'FAIL'}  ${c.name.padEnd(13)} ${c.detail}`);
  const { partitions } = report.consumer;
  if (!('unknown' in partitions) && partitions.length > 0) {
    const list = partitions.map((p) => `p${p.partition}=${p.lag}`).join(' ');
    lines.push('', `  consumer lag (${report.consumer.group}): ${list}`);
  }
  const failed = report.checks.filter((c) => !c.ok).length;
  lines.push(
    '',
    report.verdict === 'READY'
      ? 'READY: every check passed.'
      : `NOT READY: ${failed} of ${report.checks.length} checks failed (see FAIL above).`,
  );
  return `${lines.join('\n')}\n`;
}

const wholeNumber = (flag: string, value: string): number => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`${flag} must be a whole number, not "${value}"`, 64);
  return n;
};

@Command({
  name: 'status',
  description:
    'Cutover readiness: capture alive and gap-free, consumer lag, DLQ records all explained (not carried by policy, or resolved with cdc dlq accept / redrive), stream and scan parity, lag p99, and a READY / NOT READY verdict (exit 0 / 2)',
})
export class StatusCommand extends CommandRunner {
  async run(_args: string[], flags: StatusFlags): Promise<void> {
    const { config } = await resolveConfig('reuse', true);
    const { redis: redisCfg, kafka: kafkaCfg } = config.require('redis', 'kafka');
    // One attempt, no reconnect loop: a status that hangs while Redis is away tells nobody anything.
    let redisError = '';
    let redis: ControlClient | undefined;
    let admin: Admin | undefined;
    try {
      redis = await openControlClient(
        redisCfg,
        'cdc-status',
        { maxRetriesPerRequest: 2, retryStrategy: () => null },
        (err) => (redisError = err.message),
      ).catch((err: Error) => {
        throw new Error(`cannot reach Redis (${redisError || err.message}): check REDIS_URL and REDIS_DB`);
      });
      const kafka = createKafka(kafkaCfg, createLogger('fatal', 'cdc-status', process.stderr));
      admin = kafka.admin();
      await admin.connect().catch((err: Error) => {
        throw new Error(`cannot reach Kafka (${err.message}): check KAFKA_BROKERS`);
      });
      const options: Partial<ReadinessOptions> = {
        ...(flags.maxConsumerLag !== undefined ? { maxConsumerLag: flags.maxConsumerLag } : {}),
        ...(flags.maxLagP99 !== undefined ? { maxLagP99Ms: flags.maxLagP99 } : {}),
      };
      const report = await new StatusCollector(redis, { kafka, admin }, config).report(options);
      if (flags.json) printJson(report);
      else process.stdout.write(formatStatus(report));
      process.exitCode = report.verdict === 'READY' ? 0 : NOT_READY_EXIT;
    } catch (err) {
      fail(`status could not be collected: ${(err as Error).message}`);
    } finally {
      await admin?.disconnect().catch(() => undefined);
      redis?.disconnect();
    }
  }

  @Option({ flags: '--json', description: 'print the report as JSON (verdict, reasons, checks, inputs)' })
  parseJson(): boolean {
    return true;
  }

  @Option({
    flags: '--max-consumer-lag <messages>',
    description: 'unapplied messages allowed per partition (default CDC_READY_MAX_CONSUMER_LAG, 1000)',
  })
  parseMaxConsumerLag(value: string): number {
    return wholeNumber('--max-consumer-lag', value);
  }

  @Option({
    flags: '--max-lag-p99 <ms>',
    description: 'end-to-end lag p99 allowed over the window (default CDC_READY_MAX_LAG_P99_MS, 5000)',
  })
  parseMaxLagP99(value: string): number {
    return wholeNumber('--max-lag-p99', value);
  }
}
