import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { TransportSettings } from './options.ts';

/**
 * The transport's two kinds of Redis connection, as `reference/bullmq.md` says:
 *
 * - **worker**: shared by the node's BullMQ workers (each adds its own blocking connection);
 *   `maxRetriesPerRequest: null`, so a command waits through a Redis restart instead of failing.
 * - **producer**: adds jobs, runs Governor's scripts; fails fast (`enableOfflineQueue: false`, few
 *   retries) so an error surfaces at once and the caller's own retry loop decides what to do.
 */
export interface Connections {
  readonly worker: Redis;
  readonly producer: Redis;
}

export function openConnections(settings: TransportSettings, name: string): Connections {
  const base = { ...settings.redis, connectionName: `governor:${name}` };
  return {
    worker: new Redis(settings.url, { ...base, maxRetriesPerRequest: null }),
    producer: new Redis(settings.url, { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 2 }),
  };
}

/** Resolves once the connection is ready (a fail-fast connection refuses commands before). */
export function ready(redis: Redis): Promise<void> {
  if (redis.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const onReady = (): void => {
      redis.off('end', onEnd);
      resolve();
    };
    const onEnd = (): void => {
      redis.off('ready', onReady);
      reject(new Error('the Redis connection closed before it was ready'));
    };
    redis.once('ready', onReady);
    redis.once('end', onEnd);
  });
}

/**
 * Warns unless Redis evicts nothing (`maxmemory-policy noeviction`): eviction drops job locks and
 * job state. Managed Redis services often disable `CONFIG`; then the check is skipped, with a note.
 */
export async function checkRedisSettings(redis: Redis, logger: Logger): Promise<string | undefined> {
  let policy: string | undefined;
  try {
    const reply = (await redis.config('GET', 'maxmemory-policy')) as string[];
    policy = reply[1];
  } catch (error) {
    logger.info({ err: error }, 'could not read maxmemory-policy (CONFIG is disabled?): make sure it is noeviction');
    return undefined;
  }
  if (policy !== undefined && policy !== 'noeviction') {
    logger.warn(
      { maxmemoryPolicy: policy },
      `Redis maxmemory-policy is "${policy}": set it to "noeviction", or Redis may evict job locks and states under memory pressure`,
    );
  }
  return policy;
}

/** Closes connections without waiting on a Redis that may be gone. */
export async function closeConnections(connections: Connections): Promise<void> {
  for (const redis of [connections.worker, connections.producer]) {
    try {
      if (redis.status === 'ready') await redis.quit();
      else redis.disconnect();
    } catch {
      redis.disconnect();
    }
  }
}
