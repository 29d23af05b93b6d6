import { ChangeEventCodec, type RedisValue } from '@cdc/contracts';
import type { RedisState } from '@cdc/parity';
import { type KeyReader, type KeyState, type NotCarried, notCarried, readGuardBytes } from '@cdc/redis';

/** A key's Redis state as the verifier compares it, and whether capture carries it at all. */
export interface SourceState extends RedisState {
  /** Set when the key is left out by policy (libs/redis carry-policy.ts): never a mismatch, never repaired. */
  readonly notCarried: NotCarried | null;
  /** Redis server clock at the read, epoch ms. */
  readonly readAtMs: number;
}

/** Bytes an encoded event adds beyond its raw value: per element (lengths, score) and per event (fields). */
const PER_ELEMENT_OVERHEAD = 20;
const PER_EVENT_OVERHEAD = 512;

/**
 * Reads keys where capture reads, with capture's size guard, without taking versions (bump=false), and judges
 * each by the same policy capture applies (libs/redis notCarried). A value under the guard is measured as the
 * event capture would encode: only when a cheap upper bound says it could be over the limit (the event name and
 * version are not known here, so within a few bytes of the limit the verdict may differ from capture's).
 */
export class SourceReader {
  private readonly codec = new ChangeEventCodec();

  constructor(
    private readonly reader: KeyReader,
    private readonly settings: {
      readonly maxEventBytes: number;
      readonly sourceId: string;
      readonly db: number;
    },
  ) {}

  async read(keys: readonly Buffer[]): Promise<SourceState[]> {
    const states = await this.reader.read(keys, false, readGuardBytes(this.settings.maxEventBytes));
    return states.map((s) => ({
      value: s.value,
      expireAtMs: s.expireAtMs,
      readAtMs: s.readAtMs,
      notCarried: this.policy(s),
    }));
  }

  private policy(s: KeyState): NotCarried | null {
    const { maxEventBytes, sourceId, db } = this.settings;
    const byType = notCarried(s, { maxEventBytes });
    if (byType || s.value === null || upperBound(s.key, s.value) <= maxEventBytes) return byType;
    const bytes = this.codec.encode({
      sourceId,
      db,
      key: s.key,
      op: 'UPSERT',
      value: s.value,
      version: s.version,
      expireAt: s.expireAtMs,
      event: 'set',
      origin: 'live',
      capturedAt: s.readAtMs,
    });
    return notCarried(s, { maxEventBytes, encodedBytes: bytes.length });
  }
}

/** Never less than the encoded event's size, computed without encoding. */
function upperBound(key: Buffer, value: RedisValue): number {
  let raw = key.length + PER_EVENT_OVERHEAD;
  const add = (b: Buffer) => (raw += b.length + PER_ELEMENT_OVERHEAD);
  switch (value.type) {
    case 'string':
      add(value.data);
      break;
    case 'list':
    case 'set':
      (value.type === 'list' ? value.items : value.members).forEach(add);
      break;
    case 'hash':
      value.fields.forEach(([f, v]) => (add(f), add(v)));
      break;
    case 'zset':
      value.members.forEach(([m]) => add(m));
      break;
  }
  return raw;
}
