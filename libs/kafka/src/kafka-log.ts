import { logLevel, type LogEntry } from 'kafkajs';

/** One of our log lines for one kafkajs log entry. */
export interface KafkaLogLine {
  readonly level: 'error' | 'warn' | 'debug';
  readonly msg: string;
  readonly fields: Record<string, unknown>;
}

const CONNECTION_FAILURE = /^(Connection error|Connection timeout|Closed connection)/;
/** kafkajs logs every protocol error reply it is about to retry ("Response Metadata(key: 3, version: 6)"). */
const RETRIED_RESPONSE = /^Response \w+\(key: \d+/;
/** BrokerPool repeats the Connection line it just logged for the same attempt. */
const REPEATED = /^Failed to connect to seed broker/;

/**
 * What a kafkajs log entry becomes in our log (pure). Never the client's raw JSON above debug: a failed
 * connection is one warning naming the broker and the error (once per attempt); other warnings and errors are
 * one line with the message and the error alone; everything else (and the raw entries) is debug.
 */
export function summariseKafkaLog(entry: Pick<LogEntry, 'namespace' | 'level' | 'log'>): KafkaLogLine {
  const { message, ...raw } = entry.log;
  const broker = typeof raw.broker === 'string' ? raw.broker : undefined;
  const error = typeof raw.error === 'string' ? raw.error : undefined;
  const debug: KafkaLogLine = {
    level: 'debug',
    msg: `kafka ${entry.namespace}: ${message}`,
    fields: { kafka: raw },
  };
  if (entry.level !== logLevel.ERROR && entry.level !== logLevel.WARN) return debug;
  if (REPEATED.test(message) || RETRIED_RESPONSE.test(message)) return debug;
  if (CONNECTION_FAILURE.test(message))
    return {
      level: 'warn',
      msg: `kafka broker ${broker ?? '?'}: ${error ?? message}`,
      fields: { broker, err: error ?? message },
    };
  return {
    level: entry.level === logLevel.ERROR ? 'error' : 'warn',
    msg: `kafka ${entry.namespace}: ${message}`,
    fields: {
      ...(error ? { err: error } : {}),
      ...(broker ? { broker } : {}),
      ...(typeof raw.groupId === 'string' ? { groupId: raw.groupId } : {}),
    },
  };
}

/**
 * Drops a line identical to one logged within `windowMs` (several clients of one process fail on the same
 * broker at the same moment: producer, consumer, admin), so a retry is one line, not one per connection.
 */
export class RepeatFilter {
  private readonly last = new Map<string, number>();

  constructor(private readonly windowMs = 1_000) {}

  admit(line: KafkaLogLine, now = Date.now()): boolean {
    if (line.level === 'debug') return true;
    const at = this.last.get(line.msg);
    if (at !== undefined && now - at < this.windowMs) return false;
    if (this.last.size > 1_000) this.last.clear();
    this.last.set(line.msg, now);
    return true;
  }
}
