import { setTimeout as delay } from 'node:timers/promises';
import { composeVersion } from '@cdc/contracts';
import type Redis from 'ioredis';
import type { ClusterSource } from './cluster-source';
import { clusterCounterKey, clusterMarkerKey, type EpochVerdict, judgeEpoch, parseMarker } from './epoch';
import { PRIMARY_READ, REPLICA_READ } from './read-scripts';
import { keyHashSlot } from './slot';
import {
  callHeader,
  type KeyReader,
  type KeyState,
  MAX_KEYS_PER_CALL,
  parseCall,
  type RawCallReply,
} from './versioned-read';

/** Rounds before a batch gives up (each round re-reads the topology or settles an epoch first). */
const MAX_ROUNDS = 20;

interface ScriptedRedis {
  cdcReadPrimaryBuffer(numKeys: number, ...args: Array<Buffer | string>): Promise<RawCallReply>;
  cdcReadReplicaBuffer(numKeys: number, ...args: Array<Buffer | string>): Promise<RawCallReply>;
}

/** Why a call must be sent again: the slot lives elsewhere now, or is moving (MOVED, ASK, TRYAGAIN...). */
export function isRedirect(err: Error): boolean {
  return /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN|LOADING|MASTERDOWN|READONLY)\b/.test(err.message);
}

/**
 * A redirect, or a node that is gone (connection closed or refused, no answer in time, retries exhausted):
 * either way the topology is read again and the keys go where their slots are served now.
 */
export function isTopologyError(err: Error): boolean {
  return (
    isRedirect(err) ||
    /Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|Command timed out|MaxRetriesPerRequest|Reached the max retries/i.test(
      `${err.name} ${err.message}`,
    )
  );
}

interface Call {
  readonly slot: number;
  readonly indexes: readonly number[];
  readonly replica: boolean;
  readonly redis: Redis;
}

/**
 * Versioned reads on a Redis Cluster. Keys are grouped by slot (one script call per slot's keys, with that slot's
 * epoch marker and counter), calls by the node that serves the slot (one pipeline per node, all nodes at once).
 * A redirect is never a value: a MOVED, ASK or TRYAGAIN reply sends the keys round again after the topology is
 * read again (a slot in migration waits until it has moved), and on a replica a key that reads as missing is only
 * a delete if the slot's primary does not redirect it (a replica does not know its primary is migrating a slot
 * away, and answers "missing" for keys already moved).
 */
export class ClusterVersionedReader implements KeyReader {
  constructor(private readonly source: ClusterSource) {}

  async read(keys: readonly Buffer[], bump = true, guardBytes = 0): Promise<KeyState[]> {
    const out: Array<KeyState | undefined> = new Array<KeyState | undefined>(keys.length);
    let pending = keys.map((_, i) => i);
    let lastProblem = '';
    for (let round = 0; pending.length > 0; round++) {
      if (round >= MAX_ROUNDS)
        throw new Error(
          `could not read ${pending.length} keys on the cluster after ${MAX_ROUNDS} rounds: ${lastProblem}`,
        );
      const calls = this.plan(keys, pending);
      const again: number[] = [];
      let refresh = false;
      const settles = new Map<number, { verdict: Exclude<EpochVerdict, { ok: true }>; marker: string }>();
      const replies = await this.send(keys, calls, bump, guardBytes);
      for (let c = 0; c < calls.length; c++) {
        const call = calls[c] as Call;
        const reply = replies[c] as RawCallReply | Error;
        if (reply instanceof Error) {
          if (!isTopologyError(reply)) throw reply;
          lastProblem = reply.message;
          refresh = true;
          again.push(...call.indexes);
          continue;
        }
        const header = callHeader(reply);
        const keeper = this.source.epochs(call.slot);
        let versionOf = (_i: number) => 0n;
        if (bump) {
          const verdict = judgeEpoch(parseMarker(header.marker), this.source.mode, header, keeper.floor);
          if (!verdict.ok) {
            settles.set(call.slot, { verdict, marker: header.marker });
            lastProblem = `slot ${call.slot}: ${verdict.problem}`;
            again.push(...call.indexes);
            continue;
          }
          keeper.observe(verdict.epoch);
          const position = BigInt(header.position);
          const step = call.replica ? 0n : 1n;
          versionOf = (i) => composeVersion(verdict.epoch, position + step * BigInt(i));
        }
        const states: KeyState[] = [];
        parseCall(
          call.indexes.map((i) => keys[i] as Buffer),
          0,
          reply,
          header.readAtMs,
          versionOf,
          states,
        );
        const moved = call.replica ? await this.movedAway(states, call.slot) : new Set<number>();
        states.forEach((s, i) => {
          const index = call.indexes[i] as number;
          if (moved.has(i)) {
            refresh = true;
            lastProblem = `slot ${call.slot} is migrating`;
            again.push(index);
          } else out[index] = s;
        });
      }
      for (const [slot, s] of settles) {
        // A raise may meet the slot in migration too: the marker is then wherever the move left it.
        await this.source
          .epochs(slot)
          .settle(s.verdict, s.marker)
          .catch((err: Error) => {
            if (!isTopologyError(err)) throw err;
            lastProblem = `slot ${slot}: ${err.message}`;
            refresh = true;
          });
      }
      if (refresh) await this.source.refresh().catch(() => undefined);
      if (again.length > 0 && refresh) await delay(Math.min(20 * (round + 1), 500));
      pending = again;
    }
    return out as KeyState[];
  }

  /** One call per slot and chunk, each on the node that serves the slot (or queued again if none does). */
  private plan(keys: readonly Buffer[], pending: readonly number[]): Call[] {
    const bySlot = new Map<number, number[]>();
    for (const i of pending) {
      const slot = keyHashSlot(keys[i] as Buffer);
      const list = bySlot.get(slot);
      if (list) list.push(i);
      else bySlot.set(slot, [i]);
    }
    const calls: Call[] = [];
    for (const [slot, indexes] of bySlot) {
      const at = this.source.readerForSlot(slot);
      if (!at)
        throw new Error(
          `no shard serves slot ${slot}: the cluster is not covering every slot (cluster_state:fail?)`,
        );
      for (let from = 0; from < indexes.length; from += MAX_KEYS_PER_CALL)
        calls.push({
          slot,
          indexes: indexes.slice(from, from + MAX_KEYS_PER_CALL),
          replica: at.node.role === 'replica',
          redis: at.redis,
        });
    }
    return calls;
  }

  /** One pipeline per node; each call's reply or its own error (a redirect fails only its call). */
  private async send(
    keys: readonly Buffer[],
    calls: readonly Call[],
    bump: boolean,
    guardBytes: number,
  ): Promise<Array<RawCallReply | Error>> {
    const byNode = new Map<Redis, number[]>();
    calls.forEach((call, c) => {
      const list = byNode.get(call.redis);
      if (list) list.push(c);
      else byNode.set(call.redis, [c]);
    });
    const out: Array<RawCallReply | Error> = new Array<RawCallReply | Error>(calls.length);
    const guard = String(guardBytes);
    await Promise.all(
      [...byNode].map(async ([redis, indexes]) => {
        if (!('cdcReadPrimaryBuffer' in redis)) {
          redis.defineCommand('cdcReadPrimary', { lua: PRIMARY_READ });
          redis.defineCommand('cdcReadReplica', { lua: REPLICA_READ });
        }
        const pipeline = redis.pipeline();
        const scripted = pipeline as unknown as ScriptedRedis;
        for (const c of indexes) {
          const call = calls[c] as Call;
          const chunk = call.indexes.map((i) => keys[i] as Buffer);
          const marker = clusterMarkerKey(call.slot);
          if (call.replica) void scripted.cdcReadReplicaBuffer(chunk.length + 1, marker, ...chunk, guard);
          else
            void scripted.cdcReadPrimaryBuffer(
              chunk.length + 2,
              marker,
              clusterCounterKey(call.slot),
              ...chunk,
              bump ? '1' : '0',
              guard,
            );
        }
        const replies = await pipeline.exec().catch((err: Error) => indexes.map(() => [err, null] as const));
        (replies ?? []).forEach(([err, reply], j) => {
          out[indexes[j] as number] = err ? err : (reply as RawCallReply);
        });
      }),
    );
    return out;
  }

  /**
   * The keys a replica read as missing that its primary redirects (MOVED/ASK): they were migrated away, not
   * deleted. A primary that answers (0 or 1) confirms the replica's read: missing at its offset is a real state.
   */
  private async movedAway(states: readonly KeyState[], slot: number): Promise<Set<number>> {
    const missing = states.flatMap((s, i) => (s.type === 'none' ? [i] : []));
    if (missing.length === 0) return new Set();
    const primary = this.source.controlForSlot(slot);
    if (!primary) return new Set(missing);
    const pipeline = primary.pipeline();
    for (const i of missing) pipeline.exists((states[i] as KeyState).key);
    const replies = (await pipeline.exec().catch(() => null)) ?? missing.map(() => [new Error('TRYAGAIN')]);
    // A primary that cannot answer confirms nothing either: read again once the topology is read again.
    return new Set(missing.filter((_, j) => replies[j]?.[0] && isTopologyError(replies[j]?.[0])));
  }
}
