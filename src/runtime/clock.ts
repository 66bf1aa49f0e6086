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
  /** Set by {@link unrefTimer}: every later leg is let go of too, not only the one pending then. */
  unref = false;
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
    // Stryker disable next-line ConditionalExpression,EqualityOperator: equivalent, the chain below arms this same one timer for a delay within Node's limit; the shortcut only spares the handle object
    if (!(ms > MAX_TIMER_DELAY)) return setTimeout(fn, ms);
    const handle = new LongTimerHandle();
    const arm = (left: number): void => {
      // Stryker disable next-line EqualityOperator: equivalent, a remainder of exactly Node's limit fires at the same instant either way (a last leg of 0 ms)
      handle.timer = left > MAX_TIMER_DELAY ? setTimeout(() => arm(left - MAX_TIMER_DELAY), MAX_TIMER_DELAY) : setTimeout(fn, left);
      if (handle.unref) handle.timer.unref();
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
    // Number.isFinite is false for anything that is not a number.
    if (!Number.isFinite(start)) throw new RangeError(`SimulatedClock needs a finite start time, got ${String(start)}`);
    this.#now = start;
  }

  now(): number {
    return this.#now;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    // Stryker disable next-line UpdateOperator: equivalent, a handle only has to differ from the others, counting down keeps them apart too
    const id = this.#nextId++;
    // As Node: a negative or NaN delay is no delay (NaN would make a deadline that never falls due).
    // Stryker disable next-line EqualityOperator: equivalent, a delay of 0 is 0 either way
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
    if (!Number.isFinite(time)) {
      throw new RangeError(`SimulatedClock needs a finite time, got ${String(time)}`);
    }
    if (time < this.#now) {
      throw new RangeError(`SimulatedClock cannot go back in time (now ${this.#now}, asked ${time})`);
    }
    for (let next = earliestDue(this.#timers.values(), time); next; next = earliestDue(this.#timers.values(), time)) {
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
}

/**
 * A clock for running real node processes through simulated time (`GOVERNOR_TEST_CLOCK`): it
 * starts at a given instant, runs at the speed of its base clock (real time) from there, and can
 * be moved forward at any moment with {@link TestClock.advance} or {@link TestClock.set}, which
 * fire every timer falling due on the way, in deadline order, synchronously, as
 * {@link SimulatedClock} does (ties in the order they were set; a timer set by a firing timer
 * fires in the same move if it falls due within it). A month-long timer therefore fires when the
 * clock is moved past its deadline, not a month later.
 *
 * Time keeps flowing between moves so that what bounds real work (a call's 5 s timeout, the
 * orchestrator's state timeouts) still fires on its own; only business time jumps. It never
 * goes backwards: a move to an earlier instant throws.
 *
 * Test-only: never the clock of a production node (`governor start` says so loudly when it is).
 *
 * @example
 * const clock = new TestClock(Date.parse('2025-01-06T09:00:00Z'));
 * const node = createNode({ clock });
 * clock.advance(14 * 86_400_000); // fires every timeout due in the next fourteen days, in order
 */
export class TestClock implements Clock {
  /** The instant it started at. */
  readonly start: number;
  readonly #base: Clock;
  /** now() − base.now(), while no move is under way. */
  #offset: number;
  /** The time a move has reached, while it fires timers (the deadline of the one firing). */
  #pinned: number | undefined;
  #nextId = 1;
  readonly #timers = new Map<number, SimulatedTimer>();
  /** The one base timer, armed for the earliest deadline. */
  #wake: { readonly handle: unknown; readonly deadline: number } | undefined;
  #firing = false;

  /**
   * @param start the instant the clock reads now (ms since the epoch)
   * @param base the clock it runs on between moves @default systemClock
   */
  constructor(start: number, base: Clock = systemClock) {
    checkInstant(start, 'TestClock needs a start time');
    this.start = start;
    this.#base = base;
    this.#offset = start - base.now();
  }

  now(): number {
    return this.#pinned ?? this.#base.now() + this.#offset;
  }

  setTimeout(fn: () => void, ms: number): unknown {
    // Stryker disable next-line UpdateOperator: equivalent, a handle only has to differ from the others, counting down keeps them apart too
    const id = this.#nextId++;
    // As Node: a negative or NaN delay is no delay; Infinity never falls due (as systemClock).
    // Stryker disable next-line EqualityOperator: equivalent, a delay of 0 is 0 either way
    const deadline = this.now() + (ms > 0 ? ms : 0);
    this.#timers.set(id, { id, deadline, fn });
    // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: equivalent where it arms more often, #arm keeps a base timer already armed for the earliest deadline; the test only spares it a scan of every timer
    if (!this.#firing && (this.#wake === undefined || deadline < this.#wake.deadline)) this.#arm();
    return id;
  }

  clearTimeout(handle: unknown): void {
    const timer = this.#timers.get(handle as number);
    if (!timer) return;
    this.#timers.delete(timer.id);
    // Stryker disable next-line ConditionalExpression,LogicalOperator: equivalent where it arms more often, #arm keeps a base timer already armed for the earliest deadline; the test only spares it a scan of every timer
    if (!this.#firing && this.#wake !== undefined && timer.deadline <= this.#wake.deadline) this.#arm();
  }

  /** Moves time forward by `ms`, firing every timer that falls due on the way; returns how many fired. */
  advance(ms: number): number {
    if (!Number.isFinite(ms) || ms < 0) throw new RangeError(`TestClock moves forward by a finite number of ms ≥ 0, got ${String(ms)}`);
    return this.set(this.now() + ms);
  }

  /** Moves time to `time` (never backwards), firing every timer that falls due on the way; returns how many fired. */
  set(time: number): number {
    checkInstant(time, 'TestClock needs a finite time');
    const from = this.now();
    if (time < from) throw new RangeError(`TestClock cannot go back in time (now ${new Date(from).toISOString()}, asked ${new Date(time).toISOString()})`);
    // From inside a timer the move would interleave with the one under way, out of deadline order.
    if (this.#firing) throw new Error('TestClock cannot be moved from inside one of its timers');
    this.#pinned = from;
    try {
      return this.#fireDue(time, true);
    } finally {
      this.#pinned = undefined;
      this.#offset = time - this.#base.now();
      this.#arm();
    }
  }

  /** How many timers are waiting. */
  get pending(): number {
    return this.#timers.size;
  }

  /** Fires the timers due by `limit`, earliest first; a move pins now() to each one's deadline. */
  #fireDue(limit: number, pin: boolean): number {
    this.#firing = true;
    let fired = 0;
    try {
      for (let next = earliestDue(this.#timers.values(), limit); next; next = earliestDue(this.#timers.values(), limit)) {
        this.#timers.delete(next.id);
        if (pin) this.#pinned = Math.max(next.deadline, this.#pinned!);
        fired++;
        next.fn();
      }
    } finally {
      this.#firing = false;
    }
    return fired;
  }

  /** (Re)arms the base timer for the earliest finite deadline, if it is not armed for it already. */
  #arm(): void {
    let earliest = Infinity;
    // Stryker disable next-line EqualityOperator: equivalent, of equal deadlines either gives the same earliest
    for (const timer of this.#timers.values()) if (timer.deadline < earliest) earliest = timer.deadline;
    // Stryker disable next-line ConditionalExpression: equivalent, re-arming for the same deadline changes nothing but the handle
    if (this.#wake?.deadline === earliest) return;
    if (this.#wake) this.#base.clearTimeout(this.#wake.handle);
    this.#wake = undefined;
    if (earliest === Infinity) return;
    const handle = this.#base.setTimeout(() => {
      this.#wake = undefined;
      try {
        // Real time reached a deadline: now() is already past it, so nothing is pinned.
        this.#fireDue(this.now(), false);
      } finally {
        this.#arm();
      }
    }, earliest - this.now());
    this.#wake = { handle, deadline: earliest };
  }
}

/** The latest instant a `Date` can hold: a clock beyond it could not say what time it is. */
const MAX_INSTANT = 8.64e15;

function checkInstant(time: number, what: string): void {
  if (!Number.isFinite(time) || Math.abs(time) > MAX_INSTANT) throw new RangeError(`${what} (ms since the epoch, within a Date's range), got ${String(time)}`);
}

/** The timer with the earliest deadline due by `limit` (the first set among equals). */
function earliestDue(timers: Iterable<SimulatedTimer>, limit: number): SimulatedTimer | undefined {
  let best: SimulatedTimer | undefined;
  for (const timer of timers) {
    if (timer.deadline <= limit && (!best || timer.deadline < best.deadline)) best = timer;
  }
  return best;
}

/**
 * Lets the process exit while a {@link systemClock} timer is pending (Node's `unref`): for
 * housekeeping timers that must never be the reason a stopped program lingers. Harmless on a
 * handle of another clock (nothing to let go of).
 */
export function unrefTimer(handle: unknown): void {
  if (handle instanceof LongTimerHandle) handle.unref = true;
  const timer = handle instanceof LongTimerHandle ? handle.timer : handle;
  (timer as { unref?: () => void } | undefined)?.unref?.();
}

/**
 * Runs `fn` every `ms` on `clock` until the returned function is called (a repeating timer made
 * of one-shot timers, so every clock can drive it). With `unref`, a system timer never keeps the
 * process alive.
 */
export function every(clock: Clock, ms: number, fn: () => void, options: { unref?: boolean } = {}): () => void {
  let stopped = false;
  let handle: unknown;
  const arm = (): void => {
    handle = clock.setTimeout(() => {
      // Stryker disable next-line ConditionalExpression: equivalent with every clock here, whose clearTimeout (in stop) cancels the one timer pending; kept for one that might still run a timer it was told to clear
      if (stopped) return;
      arm(); // before fn: a throwing fn must not end the repetition
      fn();
    }, ms);
    if (options.unref) unrefTimer(handle);
  };
  arm();
  return () => {
    // Stryker disable next-line BooleanLiteral: equivalent with every clock here (see above)
    stopped = true;
    clock.clearTimeout(handle);
  };
}
