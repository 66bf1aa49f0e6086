import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { every, SimulatedClock } from '../../src/runtime/clock.ts';
import { backoffDelay, REDIS_RETRY, retry, RetryAbortedError, settledWithin, sleep } from '../../src/runtime/retry.ts';

/** Lets promise continuations run (a simulated clock fires timers synchronously; awaits need turns). */
const turns = async (n = 5): Promise<void> => {
  for (let i = 0; i < n; i++) await Promise.resolve();
};

describe('backoffDelay', () => {
  it('grows by the factor from the first wait and stops at the cap', () => {
    const policy = { initialMs: 50, maxMs: 1_000, jitter: 0 };
    expect([0, 1, 2, 3, 4, 5, 10].map((attempt) => backoffDelay(policy, attempt))).toEqual([50, 100, 200, 400, 800, 1_000, 1_000]);
    expect(backoffDelay({ initialMs: 10, maxMs: 1_000, factor: 3, jitter: 0 }, 2)).toBe(90);
  });

  it('draws the jitter share at random: half to all of the wait by default', () => {
    const policy = { initialMs: 100, maxMs: 1_000 };
    expect(backoffDelay(policy, 1, () => 0)).toBe(100);
    expect(backoffDelay(policy, 1, () => 1)).toBe(200);
    expect(backoffDelay({ ...policy, jitter: 1 }, 1, () => 0)).toBe(0);
    // A jitter outside 0..1 is held to it, never a negative or doubled wait.
    expect(backoffDelay({ ...policy, jitter: 7 }, 1, () => 0)).toBe(0);
    expect(backoffDelay({ ...policy, jitter: -1 }, 1, () => 0.5)).toBe(200);
  });
});

describe('REDIS_RETRY', () => {
  it('waits 50 ms at first, doubling, never more than 1 s', () => {
    expect([0, 1, 4, 5, 20].map((attempt) => backoffDelay(REDIS_RETRY, attempt, () => 1))).toEqual([50, 100, 800, 1_000, 1_000]);
  });
});

describe('sleep', () => {
  it('resolves true once the time has passed on its clock', async () => {
    const clock = new SimulatedClock();
    let result: boolean | undefined;
    void sleep(1_000, { clock }).then((slept) => (result = slept));
    clock.advance(999);
    await turns();
    expect(result).toBeUndefined();
    clock.advance(1);
    await turns();
    expect(result).toBe(true);
  });

  it('ends at once when aborted, and clears its timer', async () => {
    const clock = new SimulatedClock();
    const controller = new AbortController();
    const slept = sleep(60_000, { clock, signal: controller.signal });
    expect(clock.pending).toBe(1);
    controller.abort();
    expect(await slept).toBe(false);
    expect(clock.pending).toBe(0);
    // Already aborted: no timer at all.
    expect(await sleep(1_000, { clock, signal: controller.signal })).toBe(false);
    expect(clock.pending).toBe(0);
  });

  it('leaves no listener on its signal, whether it slept or was aborted (a long-lived signal would collect them)', async () => {
    const clock = new SimulatedClock();
    const controller = new AbortController();
    for (let i = 0; i < 3; i++) {
      const slept = sleep(10, { clock, signal: controller.signal });
      clock.advance(10);
      expect(await slept).toBe(true);
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const aborted = sleep(10, { clock, signal: controller.signal });
    controller.abort();
    expect(await aborted).toBe(false);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

describe('settledWithin', () => {
  it('clears its deadline timer when the work settles first (a rejection counts as settled)', async () => {
    const clock = new SimulatedClock();
    expect(await settledWithin(Promise.resolve('done'), 10_000, clock)).toBe(true);
    expect(await settledWithin(Promise.reject(new Error('failed')), 10_000, clock)).toBe(true);
    expect(await settledWithin(undefined, 10_000, clock)).toBe(true);
    expect(clock.pending).toBe(0);
  });

  it('gives up on work that does not settle in time', async () => {
    const clock = new SimulatedClock();
    const outcome = settledWithin(new Promise(() => {}), 500, clock);
    expect(clock.pending).toBe(1); // its deadline is on the clock it was given
    clock.advance(500);
    expect(await outcome).toBe(false);
    expect(clock.pending).toBe(0);
  });
});

describe('retry', () => {
  it('retries failures with backoff on its clock until the operation succeeds', async () => {
    const clock = new SimulatedClock();
    const failures: [number, number][] = [];
    let calls = 0;
    const result = retry(
      async () => {
        if (++calls < 3) throw new Error(`failure ${calls}`);
        return 'ok';
      },
      { what: 'an operation', policy: { initialMs: 100, maxMs: 1_000, jitter: 0 }, clock, onFailure: (_error, attempt, delay) => void failures.push([attempt, delay]) },
    );
    await turns();
    expect(calls).toBe(1);
    clock.advance(100);
    await turns();
    expect(calls).toBe(2);
    clock.advance(200);
    expect(await result).toBe('ok');
    expect(failures).toEqual([
      [0, 100],
      [1, 200],
    ]);
  });

  it('rethrows the failure its onFailure gives up on', async () => {
    const error = new Error('not retryable');
    await expect(retry(() => Promise.reject(error), { what: 'x', policy: { initialMs: 1, maxMs: 1 }, onFailure: () => false })).rejects.toBe(error);
  });

  it('does not start at all on a signal aborted already, whose reason is the cause', async () => {
    let calls = 0;
    const reason = new Error('stopping');
    const error = await retry(
      async () => {
        calls++;
        return 'ran';
      },
      { what: 'starting', policy: { initialMs: 1, maxMs: 1 }, signal: AbortSignal.abort(reason) },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryAbortedError);
    expect((error as RetryAbortedError).cause).toBe(reason);
    expect(calls).toBe(0);
  });

  it('stops when its signal aborts: the wait ends, the timer is cleared, the last failure is the cause', async () => {
    const clock = new SimulatedClock();
    const controller = new AbortController();
    const failure = new Error('Redis away');
    const outcome = retry(() => Promise.reject(failure), { what: 'adding jobs', policy: { initialMs: 10_000, maxMs: 10_000 }, clock, signal: controller.signal });
    await turns();
    expect(clock.pending).toBe(1);
    controller.abort();
    const error = await outcome.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RetryAbortedError);
    expect((error as RetryAbortedError).code).toBe('RETRY_ABORTED');
    expect((error as RetryAbortedError).cause).toBe(failure);
    expect((error as Error).message).toContain('adding jobs');
    expect(clock.pending).toBe(0);
  });
});

describe('every', () => {
  it('repeats on its clock until stopped, and a throwing tick does not end it', () => {
    const clock = new SimulatedClock();
    let ticks = 0;
    const stop = every(clock, 100, () => {
      ticks++;
      if (ticks === 1) throw new Error('a bad tick');
    });
    expect(() => clock.advance(100)).toThrow('a bad tick');
    clock.advance(250);
    expect(ticks).toBe(3);
    stop();
    clock.advance(1_000);
    expect(ticks).toBe(3);
    expect(clock.pending).toBe(0);
  });
});
