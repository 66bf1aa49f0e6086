import { entityName, type EntityAddress } from '../../runtime/entity.ts';
import type { PersistedActorState } from '../../runtime/persisted-state.ts';
import type { PartitionId } from '../../store/redis-keys.ts';

/** An entity this node has loaded: its last committed state, and whether memory has moved on. */
export interface EntityRecord {
  readonly name: string;
  readonly address: EntityAddress;
  readonly partition: PartitionId;
  /** Its Redis keys, built once. */
  readonly stateKey: string;
  readonly handledKey: string;
  /** The committed version (0: nothing stored). */
  version: number;
  /** The committed state (what a restart or a rehydration starts from); `undefined`: a fresh entity. */
  state: PersistedActorState | undefined;
  /**
   * Persists the process that stepped last (it may have stopped since: its last state is still
   * what to commit); `undefined` while dirty: persist the live process at commit.
   */
  latest: (() => PersistedActorState) | undefined;
  dirty: boolean;
  /** Steps since load: a commit clears `dirty` only if no step happened while it was in flight. */
  steps: number;
  /** When it was last loaded or stepped, in real time (ms): what passivation calls idle. */
  lastUsed: number;
  /** Its keyed records read or committed so far, key → value (`null`: there is none); see `record-lookup.ts`. */
  readonly records: Map<string, unknown>;
}

/**
 * The entities loaded on this node, by kind and key. The EntityHost's synchronous `restore` hook
 * reads the committed state from here, so an entity is loaded (asynchronously) before a message
 * is delivered to it, and a crashed entity restarts from its last commit, not from half a step.
 */
export class EntityCache {
  // By kind, then by key: a lookup reuses the address's own strings (their hashes are cached by
  // the engine) instead of building and hashing a name; it runs several times per message.
  readonly #byKind = new Map<string, Map<string, EntityRecord>>();
  #size = 0;

  get(address: EntityAddress): EntityRecord | undefined {
    return this.#byKind.get(address.entity)?.get(address.key);
  }

  has(address: EntityAddress): boolean {
    return this.#byKind.get(address.entity)?.has(address.key) ?? false;
  }

  add(
    address: EntityAddress,
    partition: PartitionId,
    keys: { stateKey: string; handledKey: string },
    version: number,
    state: PersistedActorState | undefined,
    now: number,
  ): EntityRecord {
    const name = entityName(address);
    const record: EntityRecord = { name, address, partition, ...keys, version, state, latest: undefined, dirty: false, steps: 0, lastUsed: now, records: new Map() };
    let records = this.#byKind.get(address.entity);
    if (!records) this.#byKind.set(address.entity, (records = new Map()));
    if (!records.has(address.key)) this.#size++;
    records.set(address.key, record);
    return record;
  }

  delete(record: EntityRecord): void {
    const records = this.#byKind.get(record.address.entity);
    if (records?.get(record.address.key) !== record) return;
    records.delete(record.address.key);
    this.#size--;
  }

  /** The records of one partition (to flush, passivate or forget it). */
  inPartition(partition: PartitionId): EntityRecord[] {
    const found: EntityRecord[] = [];
    for (const records of this.#byKind.values()) {
      for (const record of records.values()) if (record.partition === partition) found.push(record);
    }
    return found;
  }

  /** Every loaded entity (to choose which to passivate when the heap is over its budget). */
  *records(): IterableIterator<EntityRecord> {
    for (const records of this.#byKind.values()) yield* records.values();
  }

  get size(): number {
    return this.#size;
  }
}
