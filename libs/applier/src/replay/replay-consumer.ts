import { type Batch, BatchConsumer, type BatchFailureDecision, type Kafka } from '@cdc/kafka';
import type { Logger } from '@cdc/observability';
import { ReplayError } from './replay-offsets';

export interface ReplayConsumerOptions {
  readonly kafka: Kafka;
  readonly group: string;
  readonly topic: string;
  readonly sessionTimeoutMs: number;
  readonly log: Logger;
  /** Applies one batch; resolving means durable (BatchConsumer then commits it). */
  readonly apply: (batch: Batch) => Promise<void>;
  /** Told each commit Kafka acknowledged; returns true once every partition reached its end. */
  readonly onCommitted: (partition: number, offset: string) => boolean;
  /** Stop after the in-flight batch and its commit. */
  readonly signal?: AbortSignal;
  /** The failure policy for a failed batch (retry, or stop: the run then fails with the fix, resumable). */
  readonly decide?: (error: Error, attempt: number) => BatchFailureDecision;
}

/**
 * Consumes until every partition's COMMITTED offset reached its end, or until asked to stop. Progress follows
 * the commits Kafka acknowledged (the consumer's COMMIT_OFFSETS event), not the batches handled: kafkajs
 * silently drops a commit made once the consumer is stopping, so stopping right after a handler returned
 * would lose the last commit. On a stop request the topic is paused and the consumer leaves only when no
 * handler runs and every handled batch's commit came back.
 */
export async function consumeUntilEnd(o: ReplayConsumerOptions): Promise<void> {
  const raw = o.kafka.consumer({
    groupId: o.group,
    allowAutoTopicCreation: false,
    sessionTimeout: o.sessionTimeoutMs,
    maxWaitTimeInMs: 1_000,
    retry: { restartOnFailure: () => Promise.resolve(true) },
  });
  let running = 0;
  let done = false;
  let stopping = false;
  /** Next offset after the last batch each partition handled, and what Kafka has acknowledged. */
  const handled = new Map<number, bigint>();
  const committed = new Map<number, bigint>();
  let failure: ReplayError | undefined;
  let finish: () => void = () => undefined;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const settled = () => running === 0 && [...handled].every(([p, next]) => (committed.get(p) ?? -1n) >= next);
  const check = () => {
    if (done || (stopping && settled())) finish();
  };

  raw.on(raw.events.COMMIT_OFFSETS, ({ payload }) => {
    for (const t of payload.topics) {
      if (t.topic !== o.topic) continue;
      for (const p of t.partitions) {
        // kafkajs hands Long objects here despite its `string` typing: String() covers both.
        const offset = String(p.offset);
        committed.set(p.partition, BigInt(offset));
        if (o.onCommitted(p.partition, offset)) done = true;
      }
    }
    check();
  });
  const onAbort = () => {
    stopping = true;
    raw.pause([{ topic: o.topic }]);
    // A handled batch whose commit never comes back (its partition was revoked meanwhile) must not hold the
    // stop forever: the next owner, or the resumed run, re-applies it (a counted no-op).
    setTimeout(finish, o.sessionTimeoutMs).unref();
    check();
  };
  const consumer = new BatchConsumer(raw, {
    ...(o.decide ? { decide: o.decide } : {}),
    onStop: (stop) => {
      failure = new ReplayError(
        `replay stopped: ${stop.message}. Nothing from offset ${stop.offset} of partition ${stop.partition} on ` +
          'is committed; once fixed, run the same cdc replay again to resume.',
      );
      finish();
    },
    onPause: ({ partition, attempt, delayMs, error }) =>
      o.log.warn(
        { partition, attempt, retryInMs: delayMs, err: error.message },
        'replay batch failed; partition paused, the same events are retried after the backoff',
      ),
  });
  try {
    await consumer.start(o.topic, async (batch) => {
      running++;
      try {
        await o.apply(batch);
        const last = batch.messages[batch.messages.length - 1];
        if (last) handled.set(batch.partition, BigInt(last.offset) + 1n);
      } finally {
        running--;
        // A failed batch is not committed: with a stop requested, nothing is left to wait for.
        check();
      }
    });
    o.signal?.addEventListener('abort', onAbort, { once: true });
    if (o.signal?.aborted) onAbort();
    await finished;
    if (failure) throw failure;
  } finally {
    o.signal?.removeEventListener('abort', onAbort);
    await consumer.stop();
  }
}
