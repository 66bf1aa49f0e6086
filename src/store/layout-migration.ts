import type { Redis } from 'ioredis';
import { GovernorError } from '../errors.ts';
import type { RedisKeys } from './redis-keys.ts';

/** What becomes of one layout-1 key: moved (to `to`, its content `rewrite`n when set), dropped, or not Governor's. */
export type KeyMove =
  | { readonly key: string; readonly action: 'move'; readonly to: string; readonly rewrite?: 'outbox' | 'dead-letter' }
  | { readonly key: string; readonly action: 'drop'; readonly why: string }
  | { readonly key: string; readonly action: 'unknown' };

/** The migration cannot go ahead; nothing was moved. */
export class LayoutMigrationError extends GovernorError {
  constructor(message: string) {
    super('LAYOUT_MIGRATION_REFUSED', message);
  }
}

/** What a running fleet rebuilds by itself: not carried over. */
const EPHEMERAL: readonly [RegExp, string][] = [
  [/^l:/, 'a lease (the fleet is stopped; leases are claimed again)'],
  [/^(nodes|node-info|names)$/, 'liveness and names (rebuilt by the nodes’ heartbeats)'],
  [/^nn:/, 'a node’s names (rebuilt by the nodes)'],
  [/^admin:/, 'an admin request, reply or nonce (short-lived)'],
  [/^rate(-n|-r)?:/, 'a tenant’s rate-limit state (seconds long)'],
  [/^telemetry-summary:/, 'a node’s telemetry summary (rewritten every minute)'],
];

/**
 * Where one key of layout 1 under `from` goes in layout 2 (`keys`: the new prefix, partitions and
 * placement). Pure: the plan can be printed and tested before anything moves.
 */
export function planKeyMove(key: string, from: string, keys: RedisKeys): KeyMove {
  const head = `${from}:`;
  if (!key.startsWith(head)) return { key, action: 'unknown' };
  const rest = key.slice(head.length);
  if (rest.startsWith('g:')) {
    const name = rest.slice(2);
    const entity = /^([sjh]):([^:]+):(.*)$/.exec(name);
    if (entity) {
      let address;
      try {
        address = { entity: entity[2]!, key: decodeURIComponent(entity[3]!) };
      } catch {
        return { key, action: 'unknown' };
      }
      const to = entity[1] === 's' ? keys.state(address) : entity[1] === 'j' ? keys.journal(address) : keys.handled(address);
      return { key, action: 'move', to };
    }
    const partitionKey = /^([to]):(.+)$/.exec(name);
    if (partitionKey) {
      const partition = partitionKey[2]!;
      return partitionKey[1] === 't' ? { key, action: 'move', to: keys.timers(partition) } : { key, action: 'move', to: keys.outbox(partition), rewrite: 'outbox' };
    }
    if (name === 'epoch') return { key, action: 'move', to: keys.epoch };
    if (name === 'telemetry') return { key, action: 'move', to: keys.telemetryStream };
    for (const [pattern, why] of EPHEMERAL) if (pattern.test(name)) return { key, action: 'drop', why };
    return { key, action: 'unknown' };
  }
  const colon = rest.indexOf(':');
  if (colon <= 0) return { key, action: 'unknown' };
  const queue = rest.slice(0, colon);
  const tail = rest.slice(colon);
  if (queue.startsWith('p.')) return { key, action: 'move', to: `${keys.prefix}:${newQueueName(queue, keys)}${tail}` };
  if (queue === 'dlq') return { key, action: 'move', to: `${keys.prefix}:${keys.deadLetterQueue}${tail}`, rewrite: 'dead-letter' };
  if (queue.startsWith('n.')) return { key, action: 'drop', why: 'a node inbox (replies and signals to processes of the stopped fleet)' };
  return { key, action: 'unknown' };
}

/** A layout-1 queue name's layout-2 one: `p.3` → `{p.3}`; others unchanged. */
export function newQueueName(queue: string, keys: RedisKeys): string {
  return queue.startsWith('p.') ? keys.partitionQueue(queue.slice(2)) : queue === 'dlq' ? keys.deadLetterQueue : queue;
}

/** An outbox entry (`{ queue, … }` JSON) with its queue renamed. */
function rewriteOutboxEntry(text: string, keys: RedisKeys): string {
  const entry = JSON.parse(text) as { queue?: unknown };
  if (typeof entry.queue === 'string') entry.queue = newQueueName(entry.queue, keys);
  return JSON.stringify(entry);
}

export interface MigrationReport {
  readonly moved: number;
  readonly dropped: number;
  /** Keys under the old prefix that are not Governor's: left where they are. */
  readonly unknown: readonly string[];
  readonly plan: readonly KeyMove[];
}

/**
 * Moves a layout-1 dataset to layout 2. Refuses (before moving anything) while a layout-1 node is
 * alive, or when a target key exists. Each key: DUMP, RESTORE at its new name with its TTL, then
 * DEL (works across slots, so into a cluster's keyspace too); outbox entries and dead letters get
 * their queue names rewritten, so a relay or a replay goes to the new queue.
 * @throws LayoutMigrationError
 */
export async function migrateLayout(redis: Redis, keysToMove: readonly string[], from: string, keys: RedisKeys, options: { dryRun?: boolean; now?: number } = {}): Promise<MigrationReport> {
  const plan = keysToMove.map((key) => planKeyMove(key, from, keys));
  const live = await redis.zrangebyscore(`${from}:g:nodes`, options.now ?? Date.now(), '+inf');
  if (live.length > 0) throw new LayoutMigrationError(`nodes of the old layout are alive on "${from}" (${live.join(', ')}): stop every node first, then migrate`);
  const moves = plan.filter((m): m is Extract<KeyMove, { action: 'move' }> => m.action === 'move');
  const taken = (await Promise.all(moves.map((m) => redis.exists(m.to)))).map((n, i) => (n > 0 ? moves[i]!.to : undefined)).filter((k) => k !== undefined);
  if (taken.length > 0) throw new LayoutMigrationError(`${taken.length} target keys exist already (e.g. ${taken[0]}): the new prefix holds data; choose another --prefix or remove it`);
  const report = { moved: moves.length, dropped: plan.filter((m) => m.action === 'drop').length, unknown: plan.filter((m) => m.action === 'unknown').map((m) => m.key), plan };
  if (options.dryRun) return report;
  for (const move of moves) {
    const [dump, ttl] = await Promise.all([redis.dumpBuffer(move.key), redis.pttl(move.key)]);
    if (dump === null) continue; // expired meanwhile
    await redis.restore(move.to, ttl > 0 ? ttl : 0, dump);
    if (move.rewrite === 'outbox') {
      const entries = await redis.lrange(move.to, 0, -1);
      if (entries.length > 0) await redis.multi().del(move.to).rpush(move.to, ...entries.map((e) => rewriteOutboxEntry(e, keys))).exec();
    } else if (move.rewrite === 'dead-letter' && (await redis.type(move.to)) === 'hash') {
      // A dead letter's job hash: its data names the queue it came from, where a replay sends it.
      const data = await redis.hget(move.to, 'data');
      if (data !== null) {
        const letter = JSON.parse(data) as { queue?: unknown };
        if (typeof letter.queue === 'string') await redis.hset(move.to, 'data', JSON.stringify({ ...letter, queue: newQueueName(letter.queue, keys) }));
      }
    }
    await redis.del(move.key);
  }
  for (const drop of plan) if (drop.action === 'drop') await redis.del(drop.key);
  return report;
}
