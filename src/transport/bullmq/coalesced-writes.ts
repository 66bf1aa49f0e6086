import type { Redis } from 'ioredis';

/**
 * Holds what a connection writes until the current turn's callbacks and promise chains have run,
 * then sends it in one write. A job's commit and BullMQ's completion right behind it (and the
 * other partitions' commits of the same turn, on the same connection) leave in one system call
 * instead of one each: on a busy node those writes were the largest single cost of a commit.
 * Order on the connection is unchanged; only the moment the bytes leave moves, by less than a turn.
 *
 * @internal
 */
export function coalesceWrites(redis: Redis): void {
  const stream = redis.stream as Redis['stream'] | undefined;
  // Not connected: ioredis queues the commands itself. Corked already this turn: it is uncorked with the rest.
  if (redis.status !== 'ready' || !stream || stream.writableCorked > 0) return;
  stream.cork();
  process.nextTick(() => stream.uncork());
}
