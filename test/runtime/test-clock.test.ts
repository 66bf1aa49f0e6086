/**
 * The clock of `GOVERNOR_TEST_CLOCK`: it starts at an instant, flows with its base clock, and a
 * move fires every timer that falls due on the way, in deadline order. The base here is a
 * SimulatedClock, so "real time passing" is a call too and nothing waits.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock, TestClock } from '../../src/runtime/clock.ts';

const START = Date.parse('2025-01-06T09:00:00Z');
const DAY = 86_400_000;

function clocks() {
  const base = new SimulatedClock(1_000_000);
  return { base, clock: new TestClock(START, base) };
}

describe('TestClock: where it starts and how it flows', () => {
  it('reads the start instant, then moves with its base clock', () => {
    const { base, clock } = clocks();
    expect(clock.now()).toBe(START);
    base.advance(1_500);
    expect(clock.now()).toBe(START + 1_500);
  });

  it('fires a timer when its base clock reaches the deadline, without any move', () => {
    const { base, clock } = clocks();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(clock.now()), 5_000);
    base.advance(4_999);
    expect(fired).toEqual([]);
    base.advance(1);
    expect(fired).toEqual([START + 5_000]);
    expect(clock.pending).toBe(0);
  });

  it('keeps only one base timer, for the earliest deadline', () => {
    const { base, clock } = clocks();
    clock.setTimeout(() => {}, 3 * DAY);
    clock.setTimeout(() => {}, DAY);
    clock.setTimeout(() => {}, 2 * DAY);
    expect(clock.pending).toBe(3);
    expect(base.pending).toBe(1);
  });

  it('refuses a start that is not a time', () => {
    expect(() => new TestClock(Number.NaN)).toThrow(RangeError);
    expect(() => new TestClock(9e15)).toThrow(/within a Date's range/);
  });
});

describe('TestClock: moving it forward', () => {
  it('fires every timer due on the way, in deadline order, ties in the order they were set, and leaves the rest', () => {
    const { clock } = clocks();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('day 6'), 6 * DAY);
    clock.setTimeout(() => fired.push('day 2 (first)'), 2 * DAY);
    clock.setTimeout(() => fired.push('day 30'), 30 * DAY);
    clock.setTimeout(() => fired.push('day 2 (second)'), 2 * DAY);
    clock.setTimeout(() => fired.push('day 3'), 3 * DAY);

    expect(clock.advance(7 * DAY)).toBe(4);
    expect(fired).toEqual(['day 2 (first)', 'day 2 (second)', 'day 3', 'day 6']);
    expect(clock.now()).toBe(START + 7 * DAY);
    expect(clock.pending).toBe(1);
  });

  it('shows each timer its own deadline as now while it fires', () => {
    const { clock } = clocks();
    const seen: number[] = [];
    clock.setTimeout(() => seen.push(clock.now()), 2 * DAY);
    clock.setTimeout(() => seen.push(clock.now()), 5 * DAY);
    clock.advance(10 * DAY);
    expect(seen).toEqual([START + 2 * DAY, START + 5 * DAY]);
  });

  it('fires, in the same move, timers set by firing timers when they fall due within it (a dunning chain)', () => {
    const { clock } = clocks();
    const steps: [string, number][] = [];
    // Failed → 2 d → retry 1 → 1 d → retry 2 → 3 d → retry 3 → 1 d → suspended → 6 d → collections.
    const chain = [
      ['retry 1', 2],
      ['retry 2', 1],
      ['retry 3', 3],
      ['suspended', 1],
      ['collections', 6],
    ] as const;
    const arm = (i: number) => {
      const [name, days] = chain[i]!;
      clock.setTimeout(() => {
        steps.push([name, (clock.now() - START) / DAY]);
        if (i + 1 < chain.length) arm(i + 1);
      }, days * DAY);
    };
    arm(0);
    expect(clock.advance(7 * DAY)).toBe(4);
    expect(steps).toEqual([
      ['retry 1', 2],
      ['retry 2', 3],
      ['retry 3', 6],
      ['suspended', 7],
    ]);
    expect(clock.advance(6 * DAY)).toBe(1);
    expect(steps.at(-1)).toEqual(['collections', 13]);
  });

  it('fires a timer longer than Node can arm (a 40-day one) when moved past it, and not before', () => {
    const { clock } = clocks();
    let fired = 0;
    clock.setTimeout(() => fired++, 40 * DAY);
    clock.advance(39 * DAY);
    expect(fired).toBe(0);
    clock.set(START + 40 * DAY);
    expect(fired).toBe(1);
  });

  it('never fires a cleared timer, and re-arms its base timer for the next one', () => {
    const { base, clock } = clocks();
    const fired: string[] = [];
    const early = clock.setTimeout(() => fired.push('early'), 1_000);
    clock.setTimeout(() => fired.push('late'), 2_000);
    clock.clearTimeout(early);
    base.advance(1_000);
    expect(fired).toEqual([]);
    base.advance(1_000);
    expect(fired).toEqual(['late']);
  });

  it('never fires an Infinity timer; a negative or NaN delay is no delay', () => {
    const { clock } = clocks();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('never'), Infinity);
    clock.setTimeout(() => fired.push('negative'), -5);
    clock.setTimeout(() => fired.push('nan'), Number.NaN);
    clock.advance(0);
    expect(fired).toEqual(['negative', 'nan']);
    clock.advance(1_000 * DAY);
    expect(fired).toEqual(['negative', 'nan']);
    expect(clock.pending).toBe(1);
  });

  it('flows on from where a move left it', () => {
    const { base, clock } = clocks();
    clock.set(START + 30 * DAY);
    base.advance(250);
    expect(clock.now()).toBe(START + 30 * DAY + 250);
  });
});

describe('TestClock: what it refuses', () => {
  it('never goes back, and a refused move changes nothing', () => {
    const { clock } = clocks();
    clock.advance(DAY);
    expect(() => clock.set(START)).toThrow(/cannot go back in time/);
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => clock.advance(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(START + DAY);
  });

  it('cannot be moved from inside one of its timers', () => {
    const { clock } = clocks();
    let inner: unknown;
    clock.setTimeout(() => {
      try {
        clock.advance(DAY);
      } catch (error) {
        inner = error;
      }
    }, 1_000);
    clock.advance(2_000);
    expect(String(inner)).toMatch(/inside one of its timers/);
    expect(clock.now()).toBe(START + 2_000);
  });

  it('a timer that throws ends the move with its error; the others due still fire, on the next tick of the base clock', () => {
    const { base, clock } = clocks();
    const fired: string[] = [];
    clock.setTimeout(() => {
      throw new Error('boom');
    }, 1_000);
    clock.setTimeout(() => fired.push('after'), 2_000);
    expect(() => clock.advance(DAY)).toThrow('boom');
    expect(clock.now()).toBe(START + DAY);
    expect(fired).toEqual([]);
    base.advance(0);
    expect(fired).toEqual(['after']);
  });
});

describe('TestClock: its one base timer', () => {
  it('is armed again for a timer set earlier than the one it waits for, which then fires at its deadline', () => {
    const { base, clock } = clocks();
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('later'), 5 * DAY);
    clock.setTimeout(() => fired.push('sooner'), DAY);
    base.advance(DAY);
    expect(fired).toEqual(['sooner']);
    expect(base.pending).toBe(1);
  });

  it('is armed again after it fires, for the next deadline', () => {
    const { base, clock } = clocks();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(1), DAY);
    clock.setTimeout(() => fired.push(2), 2 * DAY);
    clock.setTimeout(() => fired.push(3), 3 * DAY);
    base.advance(DAY);
    base.advance(DAY);
    expect(fired).toEqual([1, 2]);
    base.advance(DAY);
    expect(fired).toEqual([1, 2, 3]);
    expect(base.pending).toBe(0);
  });

  it('is armed for the earliest deadline whatever order the timers were set in', () => {
    const { base, clock } = clocks();
    const fired: number[] = [];
    clock.setTimeout(() => fired.push(1), DAY);
    clock.setTimeout(() => fired.push(3), 3 * DAY);
    clock.setTimeout(() => fired.push(2), 2 * DAY);
    clock.advance(0); // a move re-arms from scratch
    base.advance(DAY);
    expect(fired).toEqual([1]);
  });

  it('is let go when no timer is left, or only one that never falls due: nothing keeps the base clock busy', () => {
    const { base, clock } = clocks();
    const first = clock.setTimeout(() => {}, DAY);
    const second = clock.setTimeout(() => {}, DAY);
    clock.clearTimeout(first);
    expect(base.pending).toBe(1);
    clock.clearTimeout(second);
    expect(base.pending).toBe(0);
    clock.setTimeout(() => {}, Infinity);
    clock.advance(0);
    expect(base.pending).toBe(0);
  });

  it('moves to the next deadline when the earliest timer is cleared, and only one base timer is left', () => {
    const { base, clock } = clocks();
    const fired: string[] = [];
    const early = clock.setTimeout(() => fired.push('early'), DAY);
    clock.setTimeout(() => fired.push('late'), 2 * DAY);
    clock.clearTimeout(early);
    expect(base.pending).toBe(1);
    base.advance(2 * DAY);
    expect(fired).toEqual(['late']);
  });

  it('is unmoved by clearing a timer twice, or a handle it never gave', () => {
    const { base, clock } = clocks();
    let fired = 0;
    const handle = clock.setTimeout(() => fired++, DAY);
    const other = clock.setTimeout(() => fired++, 2 * DAY);
    clock.clearTimeout(handle);
    clock.clearTimeout(handle);
    clock.clearTimeout(12_345);
    void other;
    base.advance(2 * DAY);
    expect(fired).toBe(1);
  });
});

describe('TestClock: what it refuses, saying so', () => {
  it('a move by anything but a finite number of ms ≥ 0', () => {
    const { clock } = clocks();
    for (const ms of [-1, Number.NaN, Infinity, '5' as unknown as number]) expect(() => clock.advance(ms)).toThrow(`TestClock moves forward by a finite number of ms ≥ 0, got ${String(ms)}`);
  });

  it('a start or a time beyond what a Date can hold, and takes one at its limit', () => {
    expect(() => new TestClock(8.64e15 + 1)).toThrow("TestClock needs a start time (ms since the epoch, within a Date's range), got 8640000000000001");
    expect(() => new TestClock(-8.64e15 - 1)).toThrow(RangeError);
    expect(new TestClock(-8.64e15, new SimulatedClock()).now()).toBe(-8.64e15);
    const clock = new TestClock(0, new SimulatedClock());
    expect(() => clock.set(8.64e15 + 1)).toThrow("TestClock needs a finite time (ms since the epoch, within a Date's range), got 8640000000000001");
    clock.set(8.64e15);
    expect(clock.now()).toBe(8.64e15);
  });
});
