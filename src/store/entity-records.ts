import type { EntityAddress } from '../runtime/entity.ts';
import { StoredStateError } from './redis-errors.ts';

/**
 * An entity's keyed records: JSON values under string keys (e.g. an event id → the outcome it
 * got), written by `putRecord` and committed by the same atomic step as the entity's state — on
 * Redis a hash per entity written by `commit-n.lua`, in the memory store a map — but never part of
 * the state. They are history a machine looks things up in, not state it carries: an entity's
 * snapshot stays the same size however many events it has handled.
 *
 * Retention: none. A record is kept as long as the store is (deleting an entity's state leaves
 * its records, as its journal), so a redelivery after any time is still recognised. The records
 * grow with an entity's history, like its journal; a compact record per event (tens of bytes)
 * keeps that to a few MB for a customer's 100,000th event.
 */
export interface RecordReader {
  /** The records of `key`s of entities (`undefined` where there is none), in order, in one round trip. */
  readRecords(requests: readonly RecordRequest[]): Promise<unknown[]>;
}

export interface RecordRequest {
  readonly address: EntityAddress;
  readonly key: string;
}

/**
 * A record that is there but cannot be read: its hash holds another type (WRONGTYPE), or the
 * value is not JSON. Never read as "no record": that would decide the event again.
 */
export class RecordUnreadableError extends StoredStateError {
  constructor(key: string, field: string, problem: string, cause?: unknown) {
    super(
      'RECORD_UNREADABLE',
      key,
      `the record "${field}" at ${key} cannot be read (${problem}): its event cannot be checked against it, so it is not ` +
        'decided; restore the key from a backup, or delete it only if losing every record of the entity is acceptable',
      { cause },
    );
  }
}

/** Parses a stored record, refusing what is not JSON. */
export function decodeRecord(key: string, field: string, text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new RecordUnreadableError(key, field, 'not JSON', error);
  }
}
