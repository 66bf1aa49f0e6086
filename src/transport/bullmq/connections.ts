import { Cluster, Redis, type RedisOptions } from 'ioredis';
import type { Logger } from 'pino';
import type { TransportSettings } from './options.ts';
import { parseRedisUrl, redactUrl } from './redis-url.ts';
import { GovernorError } from '../../errors.ts';
import { settledWithin } from '../../runtime/retry.ts';
import { servers } from './redis-servers.ts';

/**
 * Opens a connection to the Redis a URL names (see `parseRedisUrl`): a `Redis` for `redis://`
 * and `rediss://`, an ioredis `Cluster` for `redis+cluster://` with `options` given to each of
 * its node connections. Every connection Governor makes goes through here, so a cluster URL works
 * wherever a Redis URL does.
 *
 * Typed `Redis` either way: Governor uses the command API the two share (ioredis' `Commander`),
 * and BullMQ tells them apart itself (`isCluster`). What differs on a cluster is kept to a few
 * places: SCAN runs on each master (`scanKeys` in redis-servers.ts), a pipeline stays in one slot.
 * @throws InvalidRedisUrlError
 */
export function createRedis(url: string, options: RedisOptions = {}): Redis {
  const location = parseRedisUrl(url);
  if (location.kind === 'single') return new Redis(location.url, options);
  const { lazyConnect, enableOfflineQueue, ...nodeOptions } = options;
  const cluster = new Cluster(
    location.nodes.map((node) => ({ host: node.host, port: node.port })),
    {
      lazyConnect: lazyConnect ?? false,
      enableOfflineQueue: enableOfflineQueue ?? true,
      enableReadyCheck: true,
      redisOptions: {
        ...nodeOptions,
        ...(location.username === undefined ? {} : { username: location.username }),
        ...(location.password === undefined ? {} : { password: location.password }),
        ...(location.tls ? { tls: nodeOptions.tls ?? {} } : {}),
      },
    },
  );
  return cluster as unknown as Redis;
}


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
    worker: createRedis(settings.url, { ...base, maxRetriesPerRequest: null }),
    producer: createRedis(settings.url, { ...base, enableOfflineQueue: false, maxRetriesPerRequest: 2 }),
  };
}

/** Resolves once the connection is ready (a fail-fast connection refuses commands before). */
/**
 * Redis did not answer within the start's deadline (`connectTimeoutMs`): a wrong URL, a Redis that
 * is down, a firewall. Nothing was started.
 */
export class RedisUnreachableError extends GovernorError {
  constructor(
    readonly url: string,
    readonly timeoutMs: number,
  ) {
    super('REDIS_UNREACHABLE', `Redis at ${redactUrl(url)} did not answer within ${timeoutMs} ms: is it running, and is the URL right? (the start's deadline is connectTimeoutMs, GOVERNOR_REDIS_TIMEOUT_MS for the governor command)`);
  }
}

/** {@link ready}, or {@link RedisUnreachableError} once `timeoutMs` has passed without an answer. */
export async function readyWithin(redis: Redis, url: string, timeoutMs: number): Promise<void> {
  const connected = ready(redis);
  if (!(await settledWithin(connected, timeoutMs))) throw new RedisUnreachableError(url, timeoutMs);
  await connected;
}

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
    // Every master's on a cluster: the first that evicts is reported.
    const replies = (await Promise.all(servers(redis).map((server) => server.config('GET', 'maxmemory-policy')))) as string[][];
    policy = replies.map((reply) => reply[1]).find((p) => p !== 'noeviction') ?? replies[0]?.[1];
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
