import type { EntityAddress } from '../runtime/entity.ts';
import { BoundedMemo } from '../runtime/bounded-memo.ts';
import { hashKey } from './hash-key.ts';

/**
 * A partition of the entity key space: `"7"` in the sharded placement (all kinds of one key share
 * it), `"Billing.7"` in the distributed placement (one set of partitions per kind).
 */
export type PartitionId = string;

/** Where entities run: with their customer's other actors, or in a worker pool per kind (SPEC §3). */
export type Placement = 'sharded' | 'distributed';

/**
 * The partition of an entity: by its key's hash (sharded), and by its kind too (distributed). One
 * rule for the nodes and the producers, so a message always goes where its entity is consumed.
 * A key's index is a SHA-256 away ({@link hashKey}), and the same keys are routed again and again
 * (every co-located message of a sharded job asks), so it is remembered.
 *
 * @internal
 */
export class KeyPartitions {
  readonly #placement: Placement;
  readonly #indexes: BoundedMemo<number>;

  constructor(partitions: number, placement: Placement) {
    this.#placement = placement;
    this.#indexes = new BoundedMemo((key) => hashKey(key) % partitions);
  }

  partitionOf(address: EntityAddress): PartitionId {
    const index = this.#indexes.get(address.key);
    return this.#placement === 'distributed' ? `${address.entity}.${index}` : String(index);
  }
}
