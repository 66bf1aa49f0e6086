import type { RedisHandle } from '../test/support/redis-server.ts';

/**
 * The CPU a Redis server has used so far (`INFO cpu`: `used_cpu_user + used_cpu_sys`), in
 * microseconds. The difference over a timed phase, divided by its events, is what each event costs
 * the one core a Redis (or a cluster shard) has: the ceiling of the whole fleet, whatever the
 * number of nodes.
 */
export async function redisCpuMicros(redis: RedisHandle): Promise<number> {
  const client = redis.client();
  try {
    const info = (await client.info('cpu')) as string;
    const seconds = (field: string) => Number(new RegExp(`${field}:([0-9.]+)`).exec(info)?.[1] ?? Number.NaN);
    return (seconds('used_cpu_user') + seconds('used_cpu_sys')) * 1e6;
  } finally {
    client.disconnect();
  }
}
