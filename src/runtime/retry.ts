import { GovernorError } from '../errors.ts';
import { systemClock, type Clock } from './clock.ts';

/**
 * The one retry policy: every loop that retries (adding jobs, committing, dead-lettering,
 * starting a partition, reading Redis, the admin listener) waits by it. Exponential backoff, capped,
 * with jitter so that nodes that failed together do not retry together; every wait is on a
 * {@link Clock} (a simulated one in tests) and ends early, its timer cleared, when the loop's
 * `AbortSignal` aborts, so a stopped component never keeps its process alive.
 */
export interface BackoffPolicy {
  /** The first wait, in ms. */
  readonly initialMs: number;
  /** No wait is longer, in ms. */
  readonly maxMs: number;
  /** How much each wait grows. @default 2 */
  readonly factor?: number;
  /**
   * The share of each wait drawn at random, 0 (none) to 1 (anywhere from 0 to the full wait).
   * @default 0.5 — a wait is between half and all of its backoff
   */
  readonly jitter?: number;
}

/** The usual policy for an idempotent Redis operation: 50 ms, doubling, up to 1 s. */
export const REDIS_RETRY: BackoffPolicy = { initialMs: 50, maxMs: 1_000 };

/**
 * The wait before retry number `attempt` (0 for the first retry): `initialMs · factor^attempt`,
 * capped at `maxMs`, the `jitter` share of it drawn from `random`. Pure.
 */
export function backoffDelay(policy: BackoffPolicy, attempt: number, random: () => number = Math.random): number {
  const factor = policy.factor ?? 2;
  const jitter = Math.min(1, Math.max(0, policy.jitter ?? 0.5));
  const full = Math.min(policy.maxMs, policy.initialMs * factor ** Math.max(0, attempt));
  return Math.round(full * (1 - jitter) + full * jitter * random());
}

/**
 * Waits `ms` on `clock`. Resolves `true` when the time has passed, `false` as soon as `signal`
 * aborts (at once if it already has); the timer is cleared then, so nothing stays pending.
 */
export function sleep(ms: number, options: { clock?: Clock; signal?: AbortSignal } = {}): Promise<boolean> {
  const { clock = systemClock, signal } = options;
  if (signal?.aborted) return Promise.resolve(false);
  return new Promise((resolve) => {
    const abort = (): void => {
      clock.clearTimeout(handle);
      resolve(false);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', abort);
      resolve(true);
    }, ms);
    signal?.addEventListener('abort', abort, { once: true });
  });
}

/**
 * Waits for `work` or for `ms` to pass, whichever comes first, and clears the timer either way
 * (a bare `Promise.race` with a sleep leaves the sleep pending: a stopped node's process then
 * lingers until it ends). Resolves `true` when `work` settled in time; a rejection of `work` is
 * a settlement too, and is not rethrown.
 */
export async function settledWithin(work: Promise<unknown> | undefined, ms: number, clock: Clock = systemClock): Promise<boolean> {
  if (work === undefined) return true;
  const controller = new AbortController();
  const settled = work.then(
    () => true,
    () => true,
  );
  try {
    return await Promise.race([settled, sleep(ms, { clock, signal: controller.signal }).then(() => false)]);
  } finally {
    controller.abort();
  }
}

/** The retry loop was stopped by its signal before the operation succeeded. */
export class RetryAbortedError extends GovernorError {
  constructor(what: string, cause: unknown) {
    super('RETRY_ABORTED', `${what}: stopped before it succeeded (its component was stopped; the cause is the last failure)`, { cause });
  }
}

export interface RetryOptions {
  /** What is retried, for the error message. */
  readonly what: string;
  readonly policy: BackoffPolicy;
  /** @default the system clock (I/O backoff is real time, whatever the actors' clock) */
  readonly clock?: Clock;
  /** Stops the loop: the wait ends at once and {@link retry} rejects with {@link RetryAbortedError}. */
  readonly signal?: AbortSignal;
  /** @default Math.random */
  readonly random?: () => number;
  /**
   * Told of each failure before the wait (to log it). Returns `false` to give up: {@link retry}
   * then rejects with that failure. @default retry every failure
   */
  readonly onFailure?: (error: unknown, attempt: number, delayMs: number) => boolean | void;
}

/**
 * Runs `operation` until it succeeds, waiting by `policy` between failures (the backoff starts
 * again at every call). Rejects with the failure `onFailure` gives up on, or with
 * {@link RetryAbortedError} when `signal` aborts.
 */
export async function retry<T>(operation: (attempt: number) => Promise<T>, options: RetryOptions): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    if (options.signal?.aborted) throw new RetryAbortedError(options.what, options.signal.reason);
    try {
      return await operation(attempt);
    } catch (error) {
      const delay = backoffDelay(options.policy, attempt, options.random);
      if (options.onFailure?.(error, attempt, delay) === false) throw error;
      if (!(await sleep(delay, { clock: options.clock, signal: options.signal }))) throw new RetryAbortedError(options.what, error);
    }
  }
}
