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
  lastUsed: number;
}

/**
 * The entities loaded on this node, by entity name. The EntityHost's synchronous `restore` hook
 * reads the committed state from here, so an entity is loaded (asynchronously) before a message
 * is delivered to it, and a crashed entity restarts from its last commit, not from half a step.
 */
export class EntityCache {
  readonly #records = new Map<string, EntityRecord>();

  get(address: EntityAddress): EntityRecord | undefined {
    return this.#records.get(entityName(address));
  }

  has(address: EntityAddress): boolean {
    return this.#records.has(entityName(address));
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
    const record: EntityRecord = { name, address, partition, ...keys, version, state, latest: undefined, dirty: false, steps: 0, lastUsed: now };
    this.#records.set(name, record);
    return record;
  }

  delete(record: EntityRecord): void {
    if (this.#records.get(record.name) === record) this.#records.delete(record.name);
  }

  /** The records of one partition (to flush, passivate or forget it). */
  inPartition(partition: PartitionId): EntityRecord[] {
    return [...this.#records.values()].filter((record) => record.partition === partition);
  }

  get size(): number {
    return this.#records.size;
  }
}
