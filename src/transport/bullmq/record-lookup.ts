import type { EventObject } from 'xstate';
import type { EntityAddress } from '../../runtime/entity.ts';
import type { EntityHost } from '../../runtime/entity-host.ts';
import { recordKeyList } from '../../runtime/record-keys.ts';
import { GovernorError } from '../../errors.ts';
import type { RecordRequest } from '../../store/entity-records.ts';
import type { RedisStore } from '../../store/redis-store.ts';
import type { EntityCache, EntityRecord } from './entity-cache.ts';
import type { Scope } from './scope.ts';

/**
 * Keyed records (`putRecord`, e.g. an orchestrator's handled events) on the BullMQ transport.
 * A machine reads its record synchronously, and Redis is not: so a partition reads the record a
 * job needs before it delivers the job (one HGET per entity, pipelined), into the entity's cache
 * entry, where the runtime's lookup finds it. What an entity writes is known from its commit on.
 *
 * A lookup of a record nobody read first (a message reaching a co-located entity under another
 * key than the job's) is never answered "none": it throws {@link RecordNotLoadedError}, so the
 * step crashes before it decides anything; in a job the partition then reads the record, resets
 * memory to the last commit and runs the job again (as for an entity not loaded yet).
 */

/** Known records per cached entity, at most this many (older ones are read again when needed). */
const KNOWN_RECORDS = 256;

/** A record looked up before it was read from Redis. */
export class RecordNotLoadedError extends GovernorError {
  constructor(
    readonly address: EntityAddress,
    readonly key: string,
  ) {
    super('RECORD_NOT_LOADED', `the record "${key}" of ${address.entity}/${address.key} was not read before the delivery that needs it: the step is run again once it is`);
  }
}

/** The runtime's lookup (`EntityHostOptions.records`): the record read before the delivery. */
export function knownRecord(cache: EntityCache, scope: Scope | undefined, address: EntityAddress, key: string): unknown {
  const known = cache.get(address)?.records.get(key);
  if (known !== undefined) return known ?? undefined; // null: read, and there is none
  if (scope?.kind === 'job') scope.missingRecords.push({ address, key });
  throw new RecordNotLoadedError(address, key);
}

/**
 * What a job's delivery will look up: the records its message names at its target, and at the
 * co-located entities whose kinds keep records what their kinds name for the same message (the
 * governors an orchestrator prepares key theirs by its event id and the ids it carries). A wrong
 * guess costs one re-run, never a decision.
 */
export function recordsToRead(host: EntityHost | undefined, cache: EntityCache, target: EntityAddress, event: EventObject, coLocated: readonly EntityAddress[]): RecordRequest[] {
  if (host === undefined || recordKeyList(host.recordKey(target, event)).length === 0) return [];
  const requests: RecordRequest[] = [];
  for (const address of coLocated) {
    if (address !== target && !host.keepsRecords(address.entity)) continue;
    for (const key of recordKeyList(host.recordKey(address, event))) {
      if (cache.get(address)?.records.get(key) === undefined) requests.push({ address, key });
    }
  }
  return requests;
}

/**
 * The records a just-loaded entity's postponed events will look up when they are taken again —
 * maybe in a timer's or an inbox delivery's step, where a missing record cannot be read and the
 * job re-run — so they are read with the load.
 */
export function postponedRecords(host: EntityHost | undefined, address: EntityAddress, postponed: readonly EventObject[] | undefined): RecordRequest[] {
  if (host === undefined || !postponed || postponed.length === 0 || !host.keepsRecords(address.entity)) return [];
  const requests: RecordRequest[] = [];
  for (const event of postponed) {
    for (const key of recordKeyList(host.recordKey(address, event))) requests.push({ address, key });
  }
  return requests;
}

/**
 * Reads records into the cache (throws `RecordUnreadableError` for one that cannot be read: the
 * job is dead-lettered with the reason, never delivered as if there were none).
 */
export async function readRecordsInto(store: RedisStore, cache: EntityCache, requests: readonly RecordRequest[]): Promise<void> {
  if (requests.length === 0) return;
  const values = await store.readRecords(requests);
  requests.forEach(({ address, key }, i) => {
    const entry = cache.get(address);
    if (entry) know(entry, key, values[i] ?? null);
  });
}

/** Records a commit wrote, known from now on. */
export function knowCommitted(entry: EntityRecord, records: Readonly<Record<string, unknown>> | undefined): void {
  if (records) for (const key in records) know(entry, key, records[key] ?? null);
}

function know(entry: EntityRecord, key: string, value: unknown): void {
  if (entry.records.size >= KNOWN_RECORDS && !entry.records.has(key)) entry.records.clear();
  entry.records.set(key, value);
}
