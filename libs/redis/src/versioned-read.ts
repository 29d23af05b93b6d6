import { composeVersion, type RedisType, type RedisValue } from '@cdc/contracts';
import type Redis from 'ioredis';
import {
  EPOCH_MARKER_KEY,
  EpochKeeper,
  type EpochVerdict,
  judgeEpoch,
  parseMarker,
  type ReadMode,
  VERSION_COUNTER_KEY,
} from './epoch';
import { PRIMARY_READ, REPLICA_READ } from './read-scripts';

/**
 * Design invariant 1: a key's type, value, TTL and its version are taken in ONE script call (read-scripts.ts),
 * so no write can slip between the read and its version. One call reads up to 100 keys at one instant.
 *
 * The version is (epoch, position) composed into one integer (@cdc/contracts `composeVersion`): the epoch
 * from the marker the call read, judged by `judgeEpoch`; the position from the primary's hybrid logical clock
 * (the i-th key of a call gets base + i) or, on a replica, from the replica's applied replication offset (every
 * key of a call shares it: they were read at that one point of the primary's history). A call whose marker
 * cannot version it (none yet, another mode's, another history's, not yet replayed) versions nothing: the
 * epoch keeper raises or waits, and the batch is read again.
 */
export { VERSION_COUNTER_KEY };

/**
 * Keys per script call. A script blocks every other client while it runs, so a call must stay short even when
 * its keys are big (each up to the size guard): 100 keeps a call of small values well under a millisecond. A
 * pipeline carries several calls, so a batch is still one round trip.
 */
export const MAX_KEYS_PER_CALL = 100;
/** Raises or waits before a batch gives up (each settle already waits for the marker to show). */
const MAX_SETTLES = 5;

/** Reads keys with their versions: one node (VersionedReader) or a Redis Cluster (ClusterVersionedReader). */
export interface KeyReader {
  /** bump=true takes versions (capture, snapshot, repair); bump=false only reads (checks). */
  read(keys: readonly Buffer[], bump?: boolean, guardBytes?: number): Promise<KeyState[]>;
}

export interface KeyState {
  readonly key: Buffer;
  /** 'none' = the key does not exist (a delete). */
  readonly type: RedisType | 'none';
  /** (epoch, position) as one integer; 0 for a read that took no version (bump=false). */
  readonly version: bigint;
  /** Absolute epoch ms when the key expires, or null. */
  readonly expireAtMs: number | null;
  /** Redis server clock at the read, epoch ms. */
  readonly readAtMs: number;
  /** Null for 'none', for types we do not carry (stream) and for values over the size guard. */
  readonly value: RedisValue | null;
  /** Set when the value was not read because it is over the size guard: its (estimated) size in bytes. */
  readonly oversizedBytes?: number;
}

/** One key's part of the reply: [type] for a missing key, else [type, pttl, value, oversized size?]. */
type RawKeyReply = [Buffer, number?, (Buffer | Buffer[])?, number?];
/** [marker, replid, position, server ms, ...one reply per key]. */
export type RawCallReply = [Buffer, Buffer, Buffer, Buffer, ...RawKeyReply[]];

interface ScriptedRedis {
  cdcReadPrimaryBuffer(numKeys: number, ...args: Array<Buffer | string>): Promise<RawCallReply>;
  cdcReadReplicaBuffer(numKeys: number, ...args: Array<Buffer | string>): Promise<RawCallReply>;
}

/** A call's header, and the version of its i-th key once its epoch is known. */
export interface CallHeader {
  readonly marker: string;
  readonly replid: string;
  readonly position: string;
  readonly readAtMs: number;
}

export function callHeader([marker, replid, position, now]: RawCallReply): CallHeader {
  return {
    marker: marker.toString(),
    replid: replid.toString(),
    position: position.toString(),
    readAtMs: Number(now.toString()),
  };
}

/**
 * Reads keys with the versioned scripts: one round trip per batch. `redis` is the node reads run on (a getter
 * when it may change, as after a failover); `epochs` raises and waits on the primary (default: primary mode on
 * that same connection, which is what tests and single-node tools want).
 */
export class VersionedReader implements KeyReader {
  private readonly node: () => Redis;
  readonly epochs: EpochKeeper;

  constructor(redis: Redis | (() => Redis), epochs?: EpochKeeper) {
    this.node = typeof redis === 'function' ? redis : () => redis;
    this.epochs = epochs ?? new EpochKeeper({ mode: 'primary', control: this.node, reader: this.node });
  }

  get mode(): ReadMode {
    return this.epochs.mode;
  }

  /**
   * bump=true takes versions (capture, snapshot, repair). bump=false only reads (verifier): versions are 0.
   * A value over `guardBytes` (0 = no guard) is not read (see read-scripts.ts).
   */
  async read(keys: readonly Buffer[], bump = true, guardBytes = 0): Promise<KeyState[]> {
    if (keys.length === 0) return [];
    for (let settles = 0; ; settles++) {
      const calls = await this.call(keys, bump, guardBytes);
      const out: KeyState[] = [];
      let unversioned: { verdict: Exclude<EpochVerdict, { ok: true }>; marker: string } | undefined;
      for (let c = 0; c < calls.length && !unversioned; c++) {
        const reply = calls[c] as RawCallReply;
        const header = callHeader(reply);
        let versionOf = (_i: number) => 0n;
        if (bump) {
          const verdict = judgeEpoch(parseMarker(header.marker), this.mode, header, this.epochs.floor);
          if (!verdict.ok) {
            unversioned = { verdict, marker: header.marker };
            break;
          }
          this.epochs.observe(verdict.epoch);
          const position = BigInt(header.position);
          const step = this.mode === 'primary' ? 1n : 0n;
          versionOf = (i) => composeVersion(verdict.epoch, position + step * BigInt(i));
        }
        parseCall(keys, c * MAX_KEYS_PER_CALL, reply, header.readAtMs, versionOf, out);
      }
      if (!unversioned) return out;
      if (settles >= MAX_SETTLES) {
        throw new Error(
          `could not version reads after ${MAX_SETTLES} epoch raises/waits (last: ${unversioned.verdict.problem}, marker "${unversioned.marker}")`,
        );
      }
      await this.epochs.settle(unversioned.verdict, unversioned.marker);
    }
  }

  private async call(keys: readonly Buffer[], bump: boolean, guardBytes: number): Promise<RawCallReply[]> {
    const node = this.node();
    if (!('cdcReadPrimaryBuffer' in node)) {
      node.defineCommand('cdcReadPrimary', { lua: PRIMARY_READ });
      node.defineCommand('cdcReadReplica', { lua: REPLICA_READ });
    }
    const pipeline = node.pipeline();
    const scripted = pipeline as unknown as ScriptedRedis;
    const guard = String(guardBytes);
    for (let from = 0; from < keys.length; from += MAX_KEYS_PER_CALL) {
      const chunk = keys.slice(from, from + MAX_KEYS_PER_CALL);
      if (this.mode === 'replica') {
        void scripted.cdcReadReplicaBuffer(chunk.length + 1, EPOCH_MARKER_KEY, ...chunk, guard);
      } else {
        const flag = bump ? '1' : '0';
        void scripted.cdcReadPrimaryBuffer(
          chunk.length + 2,
          EPOCH_MARKER_KEY,
          VERSION_COUNTER_KEY,
          ...chunk,
          flag,
          guard,
        );
      }
    }
    return ((await pipeline.exec()) ?? []).map(([err, reply]) => {
      if (err) throw err;
      return reply as RawCallReply;
    });
  }
}

function parseScore(raw: Buffer): number {
  const s = raw.toString();
  if (s === 'inf' || s === '+inf') return Infinity;
  if (s === '-inf') return -Infinity;
  return Number(s);
}

function pairs<T>(flat: Buffer[], map: (a: Buffer, b: Buffer) => T): T[] {
  const out: T[] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push(map(flat[i] as Buffer, flat[i + 1] as Buffer));
  return out;
}

/** Appends one script call's states to `out`; its keys start at keys[offset]. */
export function parseCall(
  keys: readonly Buffer[],
  offset: number,
  reply: RawCallReply,
  readAtMs: number,
  versionOf: (i: number) => bigint,
  out: KeyState[],
): void {
  for (let i = 4; i < reply.length; i++) {
    const k = i - 4;
    out.push(parseKey(keys[offset + k] as Buffer, versionOf(k), readAtMs, reply[i] as RawKeyReply));
  }
}

function parseKey(
  key: Buffer,
  version: bigint,
  readAtMs: number,
  [rawType, pttl = -2, raw, oversized]: RawKeyReply,
): KeyState {
  const type = rawType.toString() as KeyState['type'];
  const expireAtMs = pttl >= 0 ? readAtMs + pttl : null;
  const state = (value: RedisValue | null): KeyState => ({ key, type, version, expireAtMs, readAtMs, value });
  if (oversized !== undefined) return { ...state(null), oversizedBytes: oversized };
  const list = Array.isArray(raw) ? raw : [];
  switch (type) {
    case 'string':
      return state({ type, data: raw as Buffer });
    case 'hash':
      return state({ type, fields: pairs(list, (f, v) => [f, v] as const) });
    case 'list':
      return state({ type, items: list });
    case 'set':
      return state({ type, members: list });
    case 'zset':
      return state({ type, members: pairs(list, (m, s) => [m, parseScore(s)] as const) });
    case 'none':
    case 'stream':
    default:
      return state(null);
  }
}
