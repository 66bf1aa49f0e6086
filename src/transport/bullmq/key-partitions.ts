import { BoundedMemo } from '../../runtime/bounded-memo.ts';
import { hashKey } from '../hash-key.ts';

/**
 * The partition index of each entity key, remembered: a key's index is a SHA-256 away
 * ({@link hashKey}), and the same keys are routed again and again (every co-located message of a
 * sharded job asks).
 *
 * @internal
 */
export class KeyPartitions {
  readonly partitions: number;
  readonly #indexes: BoundedMemo<number>;

  constructor(partitions: number, limit?: number) {
    this.partitions = partitions;
    this.#indexes = new BoundedMemo((key) => hashKey(key) % partitions, limit);
  }

  indexOf(key: string): number {
    return this.#indexes.get(key);
  }
}
