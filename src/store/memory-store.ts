import type { EntityAddress } from '../runtime/entity.ts';
import type { PersistedActorState } from '../runtime/persisted-state.ts';
import type { ActorStore, SaveResult, StoredActor } from './actor-store.ts';

/**
 * Actor states in this process's memory: the embedded node's store, and the tests'. Synchronous
 * underneath (`get`, `put`), so an entity host can restore from it inside a delivery.
 */
export class MemoryStore implements ActorStore {
  readonly #states = new Map<string, StoredActor>();

  get(address: EntityAddress): StoredActor | undefined {
    return this.#states.get(keyOf(address));
  }

  put(address: EntityAddress, state: PersistedActorState, expectedVersion: number): SaveResult {
    const key = keyOf(address);
    const current = this.#states.get(key)?.version ?? 0;
    if (current !== expectedVersion) return { ok: false, conflict: true, version: current };
    // A deep copy: what is stored must not change when the live actor's context does.
    this.#states.set(key, { state: structuredClone(state), version: current + 1 });
    return { ok: true, version: current + 1 };
  }

  /** Saves without a version check: for the single writer of the embedded node. */
  set(address: EntityAddress, state: PersistedActorState): void {
    const key = keyOf(address);
    this.#states.set(key, { state: structuredClone(state), version: (this.#states.get(key)?.version ?? 0) + 1 });
  }

  async load(address: EntityAddress): Promise<StoredActor | undefined> {
    return this.get(address);
  }

  async save(address: EntityAddress, state: PersistedActorState, expectedVersion: number): Promise<SaveResult> {
    return this.put(address, state, expectedVersion);
  }

  async delete(address: EntityAddress): Promise<void> {
    this.#states.delete(keyOf(address));
  }

  /** The keys of the stored entities of one kind (e.g. every customer with a Receipts state). */
  keys(entity: string): string[] {
    const keys: string[] = [];
    for (const key of this.#states.keys()) {
      const [kind, entityKey] = JSON.parse(key) as [string, string];
      if (kind === entity) keys.push(entityKey);
    }
    return keys;
  }

  get size(): number {
    return this.#states.size;
  }
}

function keyOf(address: EntityAddress): string {
  return JSON.stringify([address.entity, address.key]);
}
