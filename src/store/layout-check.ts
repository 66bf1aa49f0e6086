import type { Redis } from 'ioredis';
import { GovernorError } from '../errors.ts';
import { KEY_LAYOUT_VERSION, type RedisKeys } from './redis-keys.ts';

/**
 * Redis holds Governor data in key layout 1 (before Redis Cluster support), which this version
 * does not read: a node started on it would begin an empty dataset beside the old one, and every
 * customer would start over. The message names the key found and the command that moves the data.
 */
export class LegacyKeyLayoutError extends GovernorError {
  constructor(
    readonly legacyPrefix: string,
    readonly found: string,
    readonly prefix: string,
  ) {
    super(
      'KEY_LAYOUT_LEGACY',
      `Redis holds Governor data in key layout 1 under the prefix "${legacyPrefix}" (found ${found}); this version reads layout ${KEY_LAYOUT_VERSION} ` +
        `(a hash tag per partition, for Redis Cluster) and would start an empty dataset beside it. Stop every node of the old version, then move the data: ` +
        `governor migrate-layout --redis <url> --from-prefix '${legacyPrefix}' --prefix '${prefix}' (same --partitions as the nodes), ` +
        `or keep running the previous version on this data`,
    );
  }
}

/** The keys that mark a layout-1 dataset: every node since the dataset sentinel wrote the first; queues have `meta`. */
function layoutOneMarks(legacyPrefix: string): string[] {
  return [`${legacyPrefix}:g:epoch`, `${legacyPrefix}:g:node-info`, `${legacyPrefix}:g:names`, `${legacyPrefix}:dlq:meta`, `${legacyPrefix}:p.0:meta`, `${legacyPrefix}:p.Orchestrator.0:meta`];
}

/**
 * The prefixes a layout-1 dataset for these keys may be under: the same prefix, and, for a prefix
 * without braces, the same name in braces (`governor` ← `{governor}`, the old default).
 */
export function legacyPrefixes(prefix: string): string[] {
  return /[{}]/.test(prefix) ? [prefix] : [prefix, `{${prefix}}`];
}

/**
 * At a node's start, before it writes anything: refuses a Redis with layout-1 data where this
 * node's data would go ({@link LegacyKeyLayoutError}). One EXISTS per key, not one for all: on a
 * cluster they are in different slots.
 * @throws LegacyKeyLayoutError
 */
export async function checkKeyLayout(redis: Redis, keys: RedisKeys): Promise<void> {
  for (const legacyPrefix of legacyPrefixes(keys.prefix)) {
    const marks = layoutOneMarks(legacyPrefix);
    const found = await Promise.all(marks.map((key) => redis.exists(key)));
    const index = found.findIndex((n) => n > 0);
    if (index >= 0) throw new LegacyKeyLayoutError(legacyPrefix, marks[index]!, keys.prefix);
  }
}
