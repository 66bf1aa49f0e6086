import type { EntityAddress } from '../runtime/entity.ts';
import type { PersistedActorState } from '../runtime/persisted-state.ts';
import { StoredStateError } from './redis-errors.ts';

/**
 * An entity's journal: append-only history kept beside its state (the receipts of every event
 * from genesis), written by the same atomic commit as the state and never rewritten. The state
 * counts its entries (`journalLength`); a commit whose journal would not end there is refused,
 * and a load that finds them apart is an error, so history and state cannot drift apart quietly.
 *
 * Nothing is ever removed from a journal: no retention policy exists (deleting an entity's
 * state leaves its journal). Entries are JSON values, stored one per list element.
 */
export interface JournalReader {
  /** Entries `start` … `end` (inclusive; negative counts from the end, as LRANGE), in order. */
  readJournal(address: EntityAddress, start?: number, end?: number): Promise<unknown[]>;
  /** How many entries the journal holds. */
  journalLength(address: EntityAddress): Promise<number>;
}

/**
 * A state and its journal disagree: the state says `expected` entries, the journal has `found`.
 * A stored state that cannot be used as it is (a transport dead-letters the message, as for one
 * it cannot read).
 */
export class JournalMismatchError extends StoredStateError {
  constructor(
    key: string,
    readonly expected: number,
    readonly found: number,
  ) {
    super(
      'JOURNAL_MISMATCH',
      key,
      `the journal of ${key} has ${found} entries where its state counts ${expected}: history and state were written apart ` +
        '(a bug, or a hand edit); restore both from the same backup, or ask for help before changing either',
    );
  }
}

/**
 * A state for a commit split into what is stored as state, the entries for the journal and the
 * keyed records (`entity-records.ts`) written with it.
 */
export function splitJournal(state: PersistedActorState): { state: PersistedActorState; entries: readonly unknown[]; records: Readonly<Record<string, unknown>> } {
  if (state.journal === undefined && state.records === undefined) return { state, entries: [], records: NO_RECORDS };
  const { journal, records, ...rest } = state;
  return { state: rest, entries: journal ?? [], records: records ?? NO_RECORDS };
}

const NO_RECORDS: Readonly<Record<string, unknown>> = Object.freeze({});
