/**
 * Time, injected. Nothing in the runtime calls `Date.now()` or `setTimeout` directly: it asks
 * its clock, so tests drive time with a {@link SimulatedClock} and never wait.
 */
export interface Clock {
  /** Milliseconds since the epoch (or since the simulation began). */
  now(): number;
  /** Runs `fn` once after `ms` milliseconds; returns a handle for {@link Clock.clearTimeout}. */
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** The real clock: wall time and Node's timers. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

interface SimulatedTimer {
  readonly id: number;
  readonly deadline: number;
  readonly fn: () => void;
}

/**
 * A clock that only moves when told to. Due timers fire synchronously inside
 * {@link SimulatedClock.advance}, in deadline order (ties in the order they were set), and a timer
 * set by a firing timer fires in the same advance if it falls due within it.
 *
 * @example
 * const clock = new SimulatedClock();
 * const node = createNode({ clock });
 * clock.advance(5_000); // fires every timeout due in the next five seconds
 */
export class SimulatedClock implements Clock {
  #now: number;
  #nextId = 1;
  readonly #timers = new Map<number, SimulatedTimer>();

  constructor(start = 0) {
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    this.#timers.set(id, { id, deadline: this.#now + Math.max(0, ms), fn });
    return id;
  }

  clearTimeout(handle: unknown): void {
    this.#timers.delete(handle as number);
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way. */
  advance(ms: number): void {
    this.set(this.#now + ms);
  }

  /** Moves time to `time` (never backwards), firing every timer that falls due on the way. */
  set(time: number): void {
    if (time < this.#now) {
      throw new RangeError(`SimulatedClock cannot go back in time (now ${this.#now}, asked ${time})`);
    }
    for (let next = this.#earliestDue(time); next; next = this.#earliestDue(time)) {
      this.#timers.delete(next.id);
      this.#now = next.deadline;
      next.fn();
    }
    this.#now = time;
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  #earliestDue(limit: number): SimulatedTimer | undefined {
    let best: SimulatedTimer | undefined;
    for (const timer of this.#timers.values()) {
      if (timer.deadline <= limit && (!best || timer.deadline < best.deadline)) best = timer;
    }
    return best;
  }
}
