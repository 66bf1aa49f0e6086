import type { EntityAddress } from '../runtime/entity.ts';
import type { PersistedActorState } from '../runtime/persisted-state.ts';

/** An entity's state as stored, with the version that optimistic concurrency checks. */
export interface StoredActor {
  readonly state: PersistedActorState;
  /** 1 for the first save; each save adds one. */
  readonly version: number;
}

export type SaveResult = { ok: true; version: number } | { ok: false; conflict: true; version: number };

/**
 * Where entities' states live between messages. Saves are conditional on the version the writer
 * read (`expectedVersion`, 0 for a new entity): a writer that lost a race gets a conflict back,
 * never a silent overwrite.
 */
export interface ActorStore {
  load(address: EntityAddress): Promise<StoredActor | undefined>;
  save(address: EntityAddress, state: PersistedActorState, expectedVersion: number): Promise<SaveResult>;
  delete(address: EntityAddress): Promise<void>;
}
