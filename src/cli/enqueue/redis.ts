import { CliError } from '../exit-codes.ts';
import { InvalidRedisUrlError, parseRedisUrl } from '../../transport/bullmq/redis-url.ts';
import { nodeVariable } from '../node-environment.ts';
import { deadlineRedisOptions, DEFAULT_REDIS_TIMEOUT_MS, noteRedisTarget, redisTimeoutMs, redisUnavailable } from '../redis-deadline.ts';
import { systemClock } from '../../runtime/clock.ts';

export { redactUrl } from '../../transport/bullmq/redis-url.ts';

/** The Redis options every Redis-backed command takes. */
export interface RedisFlags {
  redis?: string;
  prefix?: string;
  partitions?: string;
}

/** How long a command waits for Redis before it gives up with exit 3, unless GOVERNOR_REDIS_TIMEOUT_MS says otherwise (see redis-deadline.ts). */
export const CONNECT_TIMEOUT_MS = DEFAULT_REDIS_TIMEOUT_MS;

/** `--redis` or `$REDIS_URL`; neither → exit 2 with the fix. */
export function redisUrl(flags: RedisFlags): string {
  const url = flags.redis ?? process.env.REDIS_URL;
  if (!url) throw new CliError('no Redis: pass --redis redis://host:6379 (a Redis Cluster: redis+cluster://host1:7000,host2:7001) or set REDIS_URL (the same Redis as the nodes: governor start --redis)');
  try {
    parseRedisUrl(url);
  } catch (error) {
    if (error instanceof InvalidRedisUrlError) throw new CliError(`--redis: ${error.message}`);
    throw error;
  }
  noteRedisTarget(url);
  return url;
}

/** The prefix every node and command uses unless told otherwise (the transport's). */
export const DEFAULT_PREFIX = 'governor';

/**
 * `--prefix`, else `$GOVERNOR_PREFIX`, else {@link DEFAULT_PREFIX}: the same rule on `start` and on
 * every command that reaches the nodes, so one variable moves them all to another prefix.
 */
export function prefixOf(flags: Pick<RedisFlags, 'prefix'>): string {
  const prefix = flags.prefix ?? nodeVariable('GOVERNOR_PREFIX') ?? DEFAULT_PREFIX;
  if (prefix === '') throw new CliError('--prefix: the Redis key prefix must not be empty (e.g. governor)');
  return prefix;
}

/** `--partitions`, checked; absent → the transport's default (the nodes' default). */
export function partitionsOf(flags: RedisFlags): number | undefined {
  if (flags.partitions === undefined) return undefined;
  const n = Number(flags.partitions);
  if (!Number.isInteger(n) || n < 1) throw new CliError(`--partitions: "${flags.partitions}" is not a positive integer`);
  return n;
}

/** ioredis options for a command: connect and each command within the deadline, a few quick attempts instead of retrying forever. */
export const FAIL_FAST_REDIS = deadlineRedisOptions();

/** Runs `connect` with a deadline; a failure or a timeout becomes exit 3 naming the URL. */
export async function connectOrExit<T>(url: string, connect: () => Promise<T>, timeoutMs = redisTimeoutMs()): Promise<T> {
  let timer: unknown;
  const timeout = new Promise<never>((_, reject) => {
    timer = systemClock.setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    return await Promise.race([connect(), timeout]);
  } catch (error) {
    throw redisUnavailable(url, error instanceof Error ? error.message : String(error));
  } finally {
    systemClock.clearTimeout(timer);
  }
}
