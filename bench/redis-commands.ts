import type { RedisHandle } from '../test/support/redis-server.ts';

/**
 * How many commands a Redis server has run so far (`INFO commandstats`: the calls of every
 * command, those a Lua script makes included), leaving out `INFO` itself (the benchmark's own
 * reads). The difference over a timed phase, divided by its messages, is what each message asks
 * of Redis: a count, so it shows a regression on any machine, however loaded.
 */
export async function redisCommands(redis: RedisHandle): Promise<number> {
  const client = redis.client();
  try {
    const stats = (await client.info('commandstats')) as string;
    let calls = 0;
    for (const [, command, count] of stats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) if (command !== 'info') calls += Number(count);
    return calls;
  } finally {
    client.disconnect();
  }
}
