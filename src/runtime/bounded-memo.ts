/** @default 100_000 — keys remembered before the memo starts over. */
const DEFAULT_LIMIT = 100_000;

/**
 * A pure function's results by string key, remembered: for values that are a hash or an HMAC
 * away and asked for again and again (an entity key's partition, a customer's pseudonym).
 * Bounded by starting over when full, which costs a few recomputations, never unbounded memory.
 */
export class BoundedMemo<V> {
  readonly #compute: (key: string) => V;
  readonly #limit: number;
  readonly #values = new Map<string, V>();

  constructor(compute: (key: string) => V, limit = DEFAULT_LIMIT) {
    if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`a memo's limit must be a positive integer, not ${limit}`);
    this.#compute = compute;
    this.#limit = limit;
  }

  get(key: string): V {
    let value = this.#values.get(key);
    if (value === undefined) {
      value = this.#compute(key);
      if (this.#values.size >= this.#limit) this.#values.clear();
      this.#values.set(key, value);
    }
    return value;
  }

  /** How many keys are remembered now. */
  get size(): number {
    return this.#values.size;
  }
}
