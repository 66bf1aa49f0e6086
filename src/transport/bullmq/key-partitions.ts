import { hashKey } from '../hash-key.ts';

/** @default 100_000 — keys remembered before the memo starts over. */
const DEFAULT_LIMIT = 100_000;

/**
 * The partition index of each entity key, remembered: a key's index is a SHA-256 away
 * ({@link hashKey}), and the same keys are routed again and again (every co-located message of a
 * sharded job asks). Bounded by starting over when full, which costs a few hashes, not memory.
 *
 * @internal
 */
export class KeyPartitions {
  readonly partitions: number;
  readonly #limit: number;
  readonly #indexes = new Map<string, number>();

  constructor(partitions: number, limit = DEFAULT_LIMIT) {
    this.partitions = partitions;
    this.#limit = limit;
  }

  indexOf(key: string): number {
    let index = this.#indexes.get(key);
    if (index === undefined) {
      index = hashKey(key) % this.partitions;
      if (this.#indexes.size >= this.#limit) this.#indexes.clear();
      this.#indexes.set(key, index);
    }
    return index;
  }
}
