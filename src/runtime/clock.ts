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

/** Node's longest timer: a longer delay (or Infinity) is fired after 1 ms instead. */
const MAX_TIMER_DELAY = 2 ** 31 - 1;

/** A delay beyond Node's limit, as a chain of timers: the one pending now. */
class LongTimerHandle {
  timer: ReturnType<typeof setTimeout> | undefined;
}

/**
 * The real clock: wall time and Node's timers. A delay beyond Node's limit (about 24.8 days,
 * a month-long subscription timeout) is chained through shorter timers, so it fires when due
 * and Infinity never does, instead of both firing after 1 ms.
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => {
    // The usual delay is Node's own timer, nothing around it: actors arm and cancel one per state.
    if (!(ms > MAX_TIMER_DELAY)) return setTimeout(fn, ms);
    const handle = new LongTimerHandle();
    const arm = (left: number): void => {
      handle.timer = left > MAX_TIMER_DELAY ? setTimeout(() => arm(left - MAX_TIMER_DELAY), MAX_TIMER_DELAY) : setTimeout(fn, left);
    };
    arm(ms);
    return handle;
  },
  clearTimeout: (handle) => clearTimeout(handle instanceof LongTimerHandle ? handle.timer : (handle as ReturnType<typeof setTimeout> | undefined)),
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
    if (typeof start !== 'number' || !Number.isFinite(start)) throw new RangeError(`SimulatedClock needs a finite start time, got ${String(start)}`);
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    const id = this.#nextId++;
    // As Node: a negative or NaN delay is no delay (NaN would make a deadline that never falls due).
    this.#timers.set(id, { id, deadline: this.#now + (ms > 0 ? ms : 0), fn });
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
    // NaN would poison the clock for good (every later deadline NaN, nothing ever due again).
    if (typeof time !== 'number' || !Number.isFinite(time)) {
      throw new RangeError(`SimulatedClock needs a finite time, got ${String(time)}`);
    }
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
