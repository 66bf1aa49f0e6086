import { InvalidTelemetryOptionError } from './errors.ts';

/**
 * A bounded FIFO with a counted drop-oldest policy. When the sink is down, telemetry must neither
 * grow without limit nor block the caller; the newest events are the most useful, so the oldest
 * go, and how many went is kept so nobody mistakes a gap for a quiet period.
 */
export class EventBuffer<T> {
  #items: T[] = [];
  #dropped = 0;

  constructor(readonly capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 1) {
      throw new InvalidTelemetryOptionError('maxBuffered', capacity, 'an integer ≥ 1');
    }
  }

  get length(): number {
    return this.#items.length;
  }

  /** Events dropped since this buffer was made, oldest first. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Appends an event; returns how many old events were dropped to make room (0 or 1). */
  push(item: T): number {
    this.#items.push(item);
    return this.#trim();
  }

  /** Removes and returns up to `count` of the oldest events. */
  take(count: number): T[] {
    return this.#items.splice(0, count);
  }

  /**
   * Puts a batch that could not be sent back in front, in its original order. Events that arrived
   * meanwhile stay behind it; if the two no longer fit, the oldest are dropped (and counted).
   */
  putBack(items: readonly T[]): number {
    this.#items.unshift(...items);
    return this.#trim();
  }

  /**
   * Removes every event matching `predicate` (withdrawn, e.g. after an opt-out: not counted as
   * dropped); returns how many.
   */
  remove(predicate: (item: T) => boolean): number {
    const before = this.#items.length;
    this.#items = this.#items.filter((item) => !predicate(item));
    return before - this.#items.length;
  }

  #trim(): number {
    const excess = this.#items.length - this.capacity;
    if (excess <= 0) return 0;
    this.#items.splice(0, excess);
    this.#dropped += excess;
    return excess;
  }
}
