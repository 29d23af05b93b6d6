/**
 * The dead-letter topic's contract: the one closed set of codes a DLQ record may carry, what each means for
 * parity, and the headers every record has. Capture (keys it will not carry) and the applier (events that can
 * never apply) write it; `cdc dlq`, `cdc verify` and `cdc status` read it. A new code is added here or nowhere.
 */
export const DLQ_CODES = {
  // Capture: keys left out by policy. Not carried, by design: counted apart from parity, never "repaired".
  UNSUPPORTED_TYPE: { by: 'capture', kind: 'not-carried', fix: 'none: Redis streams are not replicated' },
  VALUE_TOO_LARGE: {
    by: 'capture',
    kind: 'not-carried',
    fix: 'raise CDC_MAX_EVENT_BYTES (DynamoDB items stop at 400 KB), then cdc dlq redrive; or cdc dlq accept',
  },
  // Applier: bytes that will never decode. Poison: the producer wrote something this contract cannot read.
  BAD_MAGIC: { by: 'applier', kind: 'poison', fix: 'a producer other than capture wrote to the topic' },
  UNKNOWN_SCHEMA: { by: 'applier', kind: 'poison', fix: 'deploy an applier that knows the writer schema' },
  UNDECODABLE: { by: 'applier', kind: 'poison', fix: 'a producer other than capture wrote to the topic' },
  INVALID_EVENT: { by: 'applier', kind: 'poison', fix: 'a producer other than capture wrote to the topic' },
  // Applier: a decoded event DynamoDB or the item mapping will never take. Fix the cause, then redrive.
  MAPPING_FAILED: { by: 'applier', kind: 'rejected', fix: 'fix the item mapping, then cdc dlq redrive' },
  ITEM_REJECTED: {
    by: 'applier',
    kind: 'rejected',
    fix: 'DynamoDB refused the item (size, number range): fix the mapping or the value, then cdc dlq redrive',
  },
} as const satisfies Record<string, { by: 'capture' | 'applier'; kind: DlqKind; fix: string }>;

/** not-carried: left out by policy (excluded from parity); poison: undecodable bytes; rejected: apply refused. */
export type DlqKind = 'not-carried' | 'poison' | 'rejected';
export type DlqCode = keyof typeof DLQ_CODES;
export type CaptureRejectionCode = {
  [C in DlqCode]: (typeof DLQ_CODES)[C]['by'] extends 'capture' ? C : never;
}[DlqCode];

export function isDlqCode(code: string): code is DlqCode {
  return Object.prototype.hasOwnProperty.call(DLQ_CODES, code);
}

/** A code read back from a record: unknown codes (an older or foreign writer) are poison, never not-carried. */
export function dlqKind(code: string): DlqKind {
  return isDlqCode(code) ? DLQ_CODES[code].kind : 'poison';
}

/** Header names on every DLQ record (the record's key is the Redis key; its value the original bytes, if any). */
export const DLQ_HEADERS = {
  code: 'cdc-error-code',
  reason: 'cdc-error-reason',
  rejectedBy: 'cdc-rejected-by',
  redisType: 'cdc-redis-type',
  version: 'cdc-version',
  event: 'cdc-event',
  sourceTopic: 'cdc-source-topic',
  sourcePartition: 'cdc-source-partition',
  sourceOffset: 'cdc-source-offset',
} as const;
