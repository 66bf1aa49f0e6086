import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { GovernorError } from '../../errors.ts';
import { servers } from './redis-servers.ts';

/**
 * What a node asks of Redis' persistence: `require` AOF (refuse to start without it), or
 * `allow-data-loss` (start anyway, warned at every start).
 */
export type Durability = 'require' | 'allow-data-loss';

/** The environment variable that allows a node to run on a Redis without AOF: `1`. */
export const ALLOW_DATA_LOSS_ENV = 'GOVERNOR_ALLOW_DATA_LOSS';

/** The fix a refusal names. */
export const AOF_FIX = '`redis-server --appendonly yes --appendfsync everysec` (or at runtime: `redis-cli CONFIG SET appendonly yes`)';

/** Redis' persistence as a node found it at start. */
export interface RedisPersistence {
  /** AOF on (`appendonly yes`); `undefined` when neither `CONFIG GET` nor `INFO` would say. */
  readonly aof: boolean | undefined;
  /** `appendfsync`; `undefined` when `CONFIG GET` is refused (`INFO` does not give it). */
  readonly appendfsync: string | undefined;
  /** Why a setting is unknown: the errors of `CONFIG GET` and `INFO persistence`. */
  readonly unknown?: string;
}

/**
 * Redis would not keep what it acknowledges: no AOF (`appendonly no`, Redis' default: a restart
 * goes back to the last RDB snapshot, or to nothing), or its persistence could not be read; and
 * the node was not told that data may be lost.
 */
export class RedisNotDurableError extends GovernorError {
  constructor(
    message: string,
    readonly persistence: RedisPersistence,
  ) {
    super('REDIS_NOT_DURABLE', message);
  }
}

/**
 * Reads `appendonly` and `appendfsync` with `CONFIG GET`; when `CONFIG` is refused (an ACL, a
 * renamed command, a managed service), `aof_enabled` from `INFO persistence`; else unknown.
 */
export async function readRedisPersistence(redis: Redis): Promise<RedisPersistence> {
  // On a cluster, every master's: the shard that keeps least is what the dataset keeps.
  const each = await Promise.all(servers(redis).map((server) => readServerPersistence(server)));
  return each.reduce(weaker);
}

const FSYNC_STRENGTH = ['no', undefined, 'everysec', 'always'];

/** The weaker of two servers' persistence (a lost write on either is a lost write). */
function weaker(a: RedisPersistence, b: RedisPersistence): RedisPersistence {
  const aof = a.aof === false || b.aof === false ? false : a.aof === undefined || b.aof === undefined ? undefined : true;
  const appendfsync = FSYNC_STRENGTH.indexOf(a.appendfsync) <= FSYNC_STRENGTH.indexOf(b.appendfsync) ? a.appendfsync : b.appendfsync;
  const unknown = [a.unknown, b.unknown].filter((u) => u !== undefined).join('; ');
  return { aof, appendfsync, ...(unknown === '' ? {} : { unknown }) };
}

async function readServerPersistence(redis: Redis): Promise<RedisPersistence> {
  let configError: string;
  try {
    const reply = (await redis.config('GET', 'append*')) as string[];
    const settings = new Map<string, string>();
    for (let i = 0; i + 1 < reply.length; i += 2) settings.set(reply[i]!, reply[i + 1]!);
    const appendonly = settings.get('appendonly');
    if (appendonly !== undefined) return { aof: appendonly === 'yes', appendfsync: settings.get('appendfsync') };
    configError = 'CONFIG GET append* gave no appendonly';
  } catch (error) {
    configError = `CONFIG GET refused: ${messageOf(error)}`;
  }
  try {
    const info = await redis.info('persistence');
    const enabled = /^aof_enabled:(\d)/m.exec(info)?.[1];
    if (enabled !== undefined) return { aof: enabled === '1', appendfsync: undefined, unknown: `${configError}; appendfsync read from nowhere` };
    return { aof: undefined, appendfsync: undefined, unknown: `${configError}; INFO persistence gave no aof_enabled` };
  } catch (error) {
    return { aof: undefined, appendfsync: undefined, unknown: `${configError}; INFO persistence refused: ${messageOf(error)}` };
  }
}

/** One phrase for a start line: what a Redis crash may cost with these settings. */
export function describePersistence(persistence: RedisPersistence): string {
  if (persistence.aof === undefined) return 'Redis persistence unknown';
  if (!persistence.aof) return 'Redis without AOF: a restart loses data';
  switch (persistence.appendfsync) {
    case 'always':
      return 'Redis AOF, appendfsync always: no acknowledged write lost on a crash';
    case 'everysec':
      return 'Redis AOF, appendfsync everysec: a crash may lose ~1 s of acknowledged writes, which nodes detect and stop on';
    case 'no':
      return 'Redis AOF, appendfsync no: a machine crash may lose ~30 s of acknowledged writes, which nodes detect and stop on';
    default:
      return 'Redis AOF, appendfsync unknown';
  }
}

/**
 * The start rule: with `require`, a Redis without AOF, or whose persistence cannot be read, is
 * refused ({@link RedisNotDurableError}, nothing started); with `allow-data-loss` the node starts
 * and says at warn what it risks, at every start. `appendfsync no` is warned about either way.
 */
export async function checkRedisPersistence(redis: Redis, logger: Logger, durability: Durability): Promise<RedisPersistence> {
  const persistence = await readRedisPersistence(redis);
  const allowed = durability === 'allow-data-loss';
  if (persistence.unknown !== undefined) {
    logger.warn({ reason: persistence.unknown }, 'could not read all of Redis\' persistence settings (CONFIG disabled by an ACL or renamed?)');
  }
  if (persistence.aof === undefined && !allowed) {
    throw new RedisNotDurableError(
      `cannot tell whether Redis keeps what it acknowledges (${persistence.unknown}): allow CONFIG GET or INFO for this Redis user, ` +
        `or, if you know the data may be lost, start with --allow-data-loss (${ALLOW_DATA_LOSS_ENV}=1)`,
      persistence,
    );
  }
  if (persistence.aof === false && !allowed) {
    throw new RedisNotDurableError(
      `Redis has appendonly no (no AOF): a Redis restart would lose acknowledged events and decisions, and events would be decided twice. ` +
        `Turn AOF on: ${AOF_FIX}; or, if the data may be lost, start with --allow-data-loss (${ALLOW_DATA_LOSS_ENV}=1)`,
      persistence,
    );
  }
  if (allowed) {
    logger.warn(
      { aof: persistence.aof, appendfsync: persistence.appendfsync },
      `data loss allowed (--allow-data-loss / ${ALLOW_DATA_LOSS_ENV}=1): ${describePersistence(persistence)}; for durability: ${AOF_FIX}`,
    );
  } else if (persistence.appendfsync === 'no') {
    logger.warn({ appendfsync: 'no' }, 'Redis has appendfsync no: the OS decides when the AOF reaches the disk; set appendfsync everysec or always');
  }
  return persistence;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
