import { describe, expect, it } from 'vitest';
import { assign, setup, type AnyStateMachine } from 'xstate';
import { spawnStatem, sys } from '../../../src/index.ts';
import { simulatedNode } from './helpers.ts';

/**
 * A state timeout restarts exactly when XState exits a state and enters it again in one step
 * (gen_statem's `repeat_state`). XState is the judge here: every timed state logs its own entry
 * and exit actions, and after each event the states whose timer was re-armed must be the ones
 * XState entered again while they were already active (each step runs at a later time, so a
 * re-armed deadline is `now + ms` and a kept one is earlier).
 */

type Ev = { type: string };
type Ctx = { log: string[] };
const log = (line: string) => assign<Ctx, Ev, undefined, Ev, never>({ log: ({ context }) => [...context.log, line] });

/** A state declaring a `ms` state timeout and logging its entry and exit as XState runs them. */
function timed(name: string, ms: number) {
  return { meta: { stateTimeout: { ms, event: `${name}Timeout` } }, entry: log(`enter ${name}`), exit: log(`exit ${name}`) };
}

const typed = setup({ types: {} as { context: Ctx; events: Ev } });
const machineOf = (config: Parameters<typeof typed.createMachine>[0]) => typed.createMachine(config);

/** Drives `machine` one event at a time, a 10 ms tick before each. */
function drive(machine: AnyStateMachine) {
  const { node, clock } = simulatedNode();
  const pid = spawnStatem(node, machine);
  const timers = () => new Map(sys.getStatus(node, pid).timers.map((t) => [t.name.replace(/^state:(m\.)?/, ''), t.deadline]));
  const logged = () => (sys.getState(node, pid) as { context: Ctx }).context.log;
  return {
    value: () => (sys.getState(node, pid) as { value: unknown }).value,
    /** Sends `type`; returns the timed states XState re-entered and those the runtime re-armed. */
    step(type: string): { xstate: string[]; rearmed: string[] } {
      clock.advance(10);
      const before = timers();
      const seen = logged().length;
      node.cast(pid, { type });
      const lines = logged().slice(seen);
      // Exited and entered: XState also runs the entry actions of a history state's ancestors,
      // or of the root, that it never exited; those are not left, so no re-entry.
      const reentered = (name: string) => lines.includes(`exit ${name}`) && lines.includes(`enter ${name}`);
      const after = timers();
      const stayed = [...after.keys()].filter((name) => before.has(name));
      return {
        // Entered again while it was active before and still is: XState's re-entry.
        xstate: stayed.filter((name) => reentered(name.split('.').at(-1)!)).sort(),
        rearmed: stayed.filter((name) => after.get(name) !== before.get(name)).sort(),
      };
    },
  };
}

describe('state timeouts re-armed by a re-entry, as XState enters states again', () => {
  it('follow a deep history state to the states it remembers, not to the parent’s initial state', () => {
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      initial: 'p',
      states: {
        p: {
          ...timed('p', 1_000),
          initial: 'b',
          on: { out: 'q' },
          states: {
            a: {
              ...timed('a', 500),
              initial: 'a1',
              on: { recall: 'hist' },
              states: { a1: { ...timed('a1', 100), on: { down: 'a2' } }, a2: timed('a2', 200) },
            },
            b: { on: { toA: 'a', recall: 'hist' } },
            hist: { type: 'history', history: 'deep' },
          },
        },
        q: { on: { back: 'p.hist' } },
      },
    });
    const run = drive(machine);
    run.step('toA');
    expect(run.value()).toEqual({ p: { a: 'a1' } });
    // Never left yet: the history goes to its default, `p`'s initial state `b`, leaving `a`.
    expect(run.step('recall')).toEqual({ xstate: [], rearmed: [] });
    expect(run.value()).toEqual({ p: 'b' });
    run.step('toA');
    run.step('down');
    run.step('out'); // remembers a.a2
    run.step('back');
    expect(run.value()).toEqual({ p: { a: 'a2' } });
    // From `a` to the remembered a.a2: only a2 is left and entered again, `a` and `p` stay.
    expect(run.step('recall')).toEqual({ xstate: ['p.a.a2'], rearmed: ['p.a.a2'] });
  });

  it('follow a shallow history state to the child it remembers', () => {
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      initial: 'p',
      states: {
        p: {
          ...timed('p', 1_000),
          initial: 'a',
          on: { out: 'q' },
          states: {
            a: { ...timed('a', 500), on: { toB: 'b', recall: 'hist' } },
            b: { ...timed('b', 400), on: { recall: 'hist', recallAgain: { target: 'hist', reenter: true } } },
            hist: { type: 'history' },
          },
        },
        q: { on: { back: 'p.hist' } },
      },
    });
    const run = drive(machine);
    // First time, to `p`'s initial `a` from `a` itself: nothing is left.
    expect(run.step('recall')).toEqual({ xstate: [], rearmed: [] });
    run.step('toB');
    run.step('out');
    run.step('back');
    expect(run.value()).toEqual({ p: 'b' });
    expect(run.step('recall')).toEqual({ xstate: [], rearmed: [] });
    expect(run.step('recallAgain')).toEqual({ xstate: ['p.b'], rearmed: ['p.b'] });
  });

  it.each([
    ['a path', 'a.a2'],
    ['a state id', '#m.p.a.a2'],
    ['a list', ['a.a2']],
  ])('follow the default a history state declares (%s), not the parent’s initial state', (_label, target) => {
    // Defect found: the history's own `target` was not read, so from `a` the default looked like
    // `p`'s initial `b`, the domain like `p`, and `a`'s timeout restarted though `a` was not left.
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      initial: 'p',
      states: {
        p: {
          ...timed('p', 1_000),
          initial: 'b',
          states: {
            a: {
              ...timed('a', 500),
              initial: 'a1',
              on: { recall: 'hist' },
              states: { a1: timed('a1', 100), a2: timed('a2', 200) },
            },
            b: { on: { toA: 'a' } },
            hist: { type: 'history', target: target as never },
          },
        },
      },
    });
    const run = drive(machine);
    run.step('toA');
    expect(run.step('recall')).toEqual({ xstate: [], rearmed: [] });
    expect(run.value()).toEqual({ p: { a: 'a2' } });
  });

  it('re-enter a state a history declares as its default, entered from inside that state', () => {
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      initial: 'p',
      states: {
        p: {
          ...timed('p', 1_000),
          initial: 'b',
          states: {
            a: { ...timed('a', 500), initial: 'a1', states: { a1: { ...timed('a1', 100), on: { recall: '#m.p.hist' } } } },
            b: { on: { toA: 'a' } },
            hist: { type: 'history', target: 'a' },
          },
        },
      },
    });
    const run = drive(machine);
    run.step('toA');
    expect(run.step('recall')).toEqual({ xstate: ['p.a', 'p.a.a1'], rearmed: ['p.a', 'p.a.a1'] });
  });

  it('re-enter a state whose history, entered for the first time from inside it, defaults to it', () => {
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      initial: 'p',
      states: {
        p: {
          ...timed('p', 1_000),
          initial: 'a',
          states: {
            a: { ...timed('a', 500), initial: 'a1', states: { a1: { ...timed('a1', 100), on: { recall: '#m.p.hist' } } } },
            hist: { type: 'history' },
          },
        },
      },
    });
    const run = drive(machine);
    // To `a`, an ancestor of the source: the domain is `p`, so `a` is left and entered again.
    expect(run.step('recall')).toEqual({ xstate: ['p.a', 'p.a.a1'], rearmed: ['p.a', 'p.a.a1'] });
  });

  it('re-enter both regions of a parallel state for a transition from one region to the other, or to both', () => {
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      initial: 'r',
      states: {
        r: {
          ...timed('r', 1_000),
          type: 'parallel',
          states: {
            x: {
              ...timed('x', 500),
              initial: 'x1',
              states: { x1: {}, x2: { on: { fromInside: { target: ['#m.r.x.x1', '#m.r.y.y2'] } } } },
              on: { across: '#m.r.y.y2', both: { target: ['.x2', '#m.r.y.y1'] } },
            },
            y: { ...timed('y', 300), initial: 'y1', states: { y1: {}, y2: {} } },
          },
        },
      },
    });
    const run = drive(machine);
    expect(run.step('across')).toEqual({ xstate: ['r.x', 'r.y'], rearmed: ['r.x', 'r.y'] });
    // One target inside the source and one outside: the domain is `r`, not the source.
    expect(run.step('both')).toEqual({ xstate: ['r.x', 'r.y'], rearmed: ['r.x', 'r.y'] });
    expect(run.value()).toEqual({ r: { x: 'x2', y: 'y1' } });
    // From inside a region to both: still `r`, the ancestor of all targets and the source.
    expect(run.step('fromInside')).toEqual({ xstate: ['r.x', 'r.y'], rearmed: ['r.x', 'r.y'] });
  });

  it('re-enter a whole parallel state through its history entered for the first time', () => {
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      initial: 'r',
      states: {
        r: {
          ...timed('r', 1_000),
          type: 'parallel',
          states: {
            x: { ...timed('x', 500), initial: 'x1', states: { x1: { ...timed('x1', 100), on: { recall: '#m.r.hist' } } } },
            y: timed('y', 300),
            hist: { type: 'history' },
          },
        },
      },
    });
    const run = drive(machine);
    // The default of a history in a parallel state is the parallel state itself: all of it is
    // left, and its regions entered again. (XState 5.33 does not enter `r` itself again and drops
    // it from its configuration, so its timeout goes with it; the runtime follows XState.)
    expect(run.step('recall')).toEqual({ xstate: ['r.x', 'r.x.x1', 'r.y'], rearmed: ['r.x', 'r.x.x1', 'r.y'] });
  });

  it('re-enter the source of a re-entering transition to its own child, but not its parent', () => {
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      initial: 'p',
      states: {
        p: {
          ...timed('p', 1_000),
          initial: 'a',
          states: {
            a: {
              ...timed('a', 500),
              initial: 'a1',
              on: { again: { target: '.a2', reenter: true }, inside: '.a2', touch: { actions: log('touched') } },
              states: { a1: timed('a1', 100), a2: { ...timed('a2', 200), on: { back: '#m.p.a.a1' } } },
            },
          },
        },
      },
    });
    const run = drive(machine);
    // No target: nothing is left, although the transition is `a`'s own.
    expect(run.step('touch')).toEqual({ xstate: [], rearmed: [] });
    expect(run.step('inside')).toEqual({ xstate: [], rearmed: [] });
    run.step('back');
    expect(run.step('again')).toEqual({ xstate: ['p.a'], rearmed: ['p.a'] });
  });

  it('re-enter every state below the root for a transition to the root, and the root too with reenter', () => {
    const machine = machineOf({
      id: 'm',
      context: { log: [] },
      ...timed('m', 2_000),
      initial: 'p',
      states: {
        p: {
          ...timed('p', 1_000),
          initial: 'a',
          states: { a: { ...timed('a', 500), on: { toRoot: '#m', restart: { target: '#m', reenter: true } } } },
        },
      },
    });
    const run = drive(machine);
    expect(run.step('toRoot')).toEqual({ xstate: ['p', 'p.a'], rearmed: ['p', 'p.a'] });
    const restart = run.step('restart');
    expect(restart.rearmed).toEqual(restart.xstate);
  });
});
