import { pipelinedBy } from '../../store/slot-pipelines.ts';
import type { Redis } from 'ioredis';
import { outcomeOf, type HandledEvent, type HandledOutcome, type HandledRecord } from '../../../machines/handled-events.ts';
import { decodeRecord, RecordUnreadableError } from '../../store/entity-records.ts';
import type { RedisKeys } from '../../store/redis-keys.ts';

/**
 * The outcomes orchestrators recorded, read from Redis: each event's handled record, a field of
 * its orchestrator's records hash (`RedisKeys.records`, see machines/handled-events.ts), committed
 * in the same script as the event's effects — so a record here means the effects are in Redis
 * too. Records are never dropped: an event handled at any time has one.
 *
 * An orchestrator not loaded since its state was saved in the layout before still holds its
 * records in its state (`handled`, moved out when it is next loaded): read there when the hash has
 * none, so nothing recorded before an upgrade is missed.
 */
export interface EventKey {
  readonly customerId: string;
  readonly eventId: string;
}

/**
 * The handled records of `events` (`undefined`: none yet), in order: one round trip, and one more
 * only for customers whose state is of the layout before. Throws {@link RecordUnreadableError}
 * for a record that is there but cannot be read (its key of another type, not JSON).
 */
export async function readHandledRecords(redis: Redis, keys: RedisKeys, events: readonly EventKey[]): Promise<(HandledEvent | undefined)[]> {
  if (events.length === 0) return [];
  const address = (customerId: string) => ({ entity: 'Orchestrator', key: customerId });
  // One pipeline per partition: on Redis Cluster a pipeline must stay on one node.
  const replies = await pipelinedBy(redis, events, (event) => keys.partitionOf(address(event.customerId)), (pipeline, event) => pipeline.hget(keys.records(address(event.customerId)), event.eventId));
  const found: (HandledEvent | undefined)[] = events.map((event, i) => {
    const [error, text] = replies[i]!;
    const key = keys.records(address(event.customerId));
    if (error) {
      if (/WRONGTYPE/.test(error.message)) throw new RecordUnreadableError(key, event.eventId, 'the key holds another type than a hash', error);
      throw error;
    }
    return typeof text === 'string' ? { eventId: event.eventId, ...(decodeRecord(key, event.eventId, text) as HandledRecord) } : undefined;
  });
  const older = [...new Set(events.filter((_, i) => found[i] === undefined).map((e) => e.customerId))];
  if (older.length > 0) {
    const states = await Promise.all(older.map((customerId) => redis.hget(keys.state(address(customerId)), 'd')));
    const lists = new Map(older.map((customerId, i) => [customerId, handledListOf(states[i] ?? null)]));
    events.forEach((event, i) => {
      if (found[i] === undefined) found[i] = lists.get(event.customerId)?.find((h) => h.eventId === event.eventId);
    });
  }
  return found;
}

/** The outcomes of `events` that have a record, by eventId (see {@link readHandledRecords}). */
export async function readOutcomes(redis: Redis, keys: RedisKeys, events: readonly EventKey[]): Promise<Map<string, HandledOutcome>> {
  const records = await readHandledRecords(redis, keys, events);
  const outcomes = new Map<string, HandledOutcome>();
  events.forEach((event, i) => {
    const record = records[i];
    if (record) outcomes.set(event.eventId, outcomeOf(record));
  });
  return outcomes;
}

/** The `handled` list of an orchestrator state of the layout before (none: `[]`). */
function handledListOf(stored: string | null): HandledEvent[] {
  if (stored === null) return [];
  try {
    const handled = (JSON.parse(stored) as { snapshot?: { context?: { handled?: unknown } } }).snapshot?.context?.handled;
    return Array.isArray(handled) ? (handled as HandledEvent[]) : [];
  } catch {
    return [];
  }
}
