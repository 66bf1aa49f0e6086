/**
 * The simulated clock every runtime test drives time with: it moves only when told, fires the
 * timers due on the way in deadline order (ties in the order they were set), each seeing its own
 * deadline as now, and refuses a move that would break it (backwards, or to no time at all).
 */
import { describe, expect, it, vi } from 'vitest';
import { SimulatedClock, every, systemClock, unrefTimer } from '../../src/runtime/clock.ts';

describe('SimulatedClock', () => {
  it('starts where it is told (0 by default) and moves only when told', () => {
    expect(new SimulatedClock().now()).toBe(0);
    const clock = new SimulatedClock(1_000);
    expect(clock.now()).toBe(1_000);
    clock.advance(250);
    expect(clock.now()).toBe(1_250);
    clock.set(5_000);
    expect(clock.now()).toBe(5_000);
  });

  it('fires the timers due on the way in deadline order, ties in the order set, each at its own deadline', () => {
    const clock = new SimulatedClock(100);
    const fired: string[] = [];
    const at = (label: string) => () => fired.push(`${label}@${clock.now()}`);
    clock.setTimeout(at('c'), 30);
    clock.setTimeout(at('a'), 10);
    clock.setTimeout(at('b1'), 20);
    clock.setTimeout(at('b2'), 20);
    clock.setTimeout(at('late'), 31);
    clock.advance(30);
    expect(fired).toEqual(['a@110', 'b1@120', 'b2@120', 'c@130']);
    expect(clock.now()).toBe(130);
    expect(clock.pending).toBe(1);
    clock.advance(1);
    expect(fired.at(-1)).toBe('late@131');
    expect(clock.pending).toBe(0);
  });

  it('fires in the same move a timer set by a firing timer when it falls due within it, and leaves a later one', () => {
    const clock = new SimulatedClock();
    const fired: number[] = [];
    clock.setTimeout(() => {
      fired.push(clock.now());
      clock.setTimeout(() => fired.push(clock.now()), 50);
      clock.setTimeout(() => fired.push(clock.now()), 500);
    }, 100);
    clock.advance(200);
    expect(fired).toEqual([100, 150]);
    expect(clock.pending).toBe(1);
  });

  it('takes a negative or NaN delay as none: the timer fires at the next move, even a move of 0', () => {
    const clock = new SimulatedClock(10);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('negative'), -5);
    clock.setTimeout(() => fired.push('nan'), Number.NaN);
    clock.advance(0);
    expect(fired).toEqual(['negative', 'nan']);
    expect(clock.now()).toBe(10);
  });

  it('never fires a cleared timer, nor one whose deadline is not reached', () => {
    const clock = new SimulatedClock();
    const fired: string[] = [];
    const cleared = clock.setTimeout(() => fired.push('cleared'), 10);
    clock.setTimeout(() => fired.push('kept'), 10);
    clock.clearTimeout(cleared);
    clock.advance(9);
    expect(fired).toEqual([]);
    clock.advance(1);
    expect(fired).toEqual(['kept']);
  });

  it.each([Number.NaN, Infinity, -Infinity, '5' as unknown as number])('refuses to start at %s', (start) => {
    expect(() => new SimulatedClock(start)).toThrow(new RangeError(`SimulatedClock needs a finite start time, got ${String(start)}`));
  });

  it('refuses to go back in time or to no time, and a refused move changes nothing', () => {
    const clock = new SimulatedClock(1_000);
    let fired = 0;
    clock.setTimeout(() => fired++, 10);
    expect(() => clock.set(999)).toThrow(/cannot go back in time \(now 1000, asked 999\)/);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.set(Number.NaN)).toThrow(/finite time/);
    expect(() => clock.advance(Infinity)).toThrow(/finite time/);
    expect(() => clock.set('2000' as unknown as number)).toThrow(/finite time/);
    expect([clock.now(), fired, clock.pending]).toEqual([1_000, 0, 1]);
    clock.set(1_000); // to now is no move back
    expect(clock.now()).toBe(1_000);
  });
});

describe('unrefTimer', () => {
  it('lets go of a system timer, and is harmless on a handle of another clock', () => {
    const timer = setTimeout(() => {}, 60_000);
    try {
      expect(timer.hasRef()).toBe(true);
      unrefTimer(timer);
      expect(timer.hasRef()).toBe(false);
    } finally {
      clearTimeout(timer);
    }
    expect(() => unrefTimer(new SimulatedClock().setTimeout(() => {}, 1))).not.toThrow();
    expect(() => unrefTimer(undefined)).not.toThrow();
  });

  it('lets go of every leg of a system timer longer than Node can arm, not only the first', () => {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] });
    try {
      const armed: { hasRef(): boolean }[] = [];
      const setTimeoutOfNode = globalThis.setTimeout;
      const spy = vi.spyOn(globalThis, 'setTimeout').mockImplementation(((fn: () => void, ms: number) => {
        const timer = setTimeoutOfNode(fn, ms);
        armed.push(timer);
        return timer;
      }) as typeof setTimeout);
      let fired = 0;
      const handle = systemClock.setTimeout(() => fired++, 2 * 2 ** 31 + 1_000);
      unrefTimer(handle);
      systemClock.setTimeout(() => fired++, 2 * 2 ** 31 + 1_000); // held: every leg keeps the process
      vi.advanceTimersByTime(2 * (2 ** 31 - 1));
      expect(fired).toBe(0);
      vi.advanceTimersByTime(1_002);
      expect(fired).toBe(2);
      spy.mockRestore();
      expect(armed).toHaveLength(6);
      // In the order armed: each leg of the two, side by side.
      expect(armed.map((timer) => timer.hasRef())).toEqual([false, true, false, true, false, true]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('with every and unref, lets go of each timer it arms', () => {
    const armed: NodeJS.Timeout[] = [];
    const clock = {
      now: () => 0,
      setTimeout: (fn: () => void, ms: number) => {
        const timer = setTimeout(fn, ms);
        armed.push(timer);
        return timer;
      },
      clearTimeout: (handle: unknown) => clearTimeout(handle as NodeJS.Timeout),
    };
    const stop = every(clock, 60_000, () => {}, { unref: true });
    const kept = every(clock, 60_000, () => {});
    stop();
    kept();
    expect(armed.map((timer) => timer.hasRef())).toEqual([false, true]);
  });
});
