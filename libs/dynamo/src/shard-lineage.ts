/**
 * DynamoDB Streams shards split and close; a child's records come after its parent's for the same key, so a
 * child may be read only once its parent is fully read (or gone from the stream: trimmed after 24 h).
 * https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/Streams.html#Streams.Processing
 */
export interface ShardRef {
  readonly shardId: string;
  readonly parentShardId?: string | undefined;
}

export function readyShards(
  shards: readonly ShardRef[],
  finished: ReadonlySet<string>,
  active: ReadonlySet<string>,
): ShardRef[] {
  const known = new Set(shards.map((s) => s.shardId));
  return shards.filter(
    (s) =>
      !finished.has(s.shardId) &&
      !active.has(s.shardId) &&
      (!s.parentShardId || !known.has(s.parentShardId) || finished.has(s.parentShardId)),
  );
}

/** Sequence numbers are decimal strings, global and with gaps: compare as BigInt, never as numbers. */
export function isAfter(sequence: string, checkpoint: string | undefined): boolean {
  return checkpoint === undefined || BigInt(sequence) > BigInt(checkpoint);
}
