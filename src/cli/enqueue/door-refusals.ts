import type { Redis } from 'ioredis';
import type { DoorRefusal } from '../../observability/metrics.ts';
import type { RedisKeys } from '../../store/redis-keys.ts';

/**
 * Adds what a producer refused at the door to the fleet's running totals in Redis, which one node
 * exports (`governor_throttled_events_total`, `governor_reused_key_refusals_total`): the producer
 * is a short-lived CLI process with no metrics endpoint of its own. Only when something was
 * refused (one command then, none on the usual path), and never failing the enqueue: a count
 * lost to a Redis hiccup is better than an enqueue that reports an error after it succeeded.
 */
export async function countDoorRefusals(redis: Redis, keys: RedisKeys, counts: Readonly<Record<DoorRefusal, number>>): Promise<void> {
  const refused = Object.entries(counts).filter(([, count]) => count > 0);
  if (refused.length === 0) return;
  const multi = redis.multi();
  for (const [reason, count] of refused) multi.hincrby(keys.doorRefusals, reason, count);
  await multi.exec().catch(() => undefined);
}
