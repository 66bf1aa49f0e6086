import { describe, expect, it } from 'vitest';
import { assign, cancel, createActor, raise, sendTo, setup, stateIn, SimulatedClock as XStateClock, type AnyStateMachine } from 'xstate';
import { spawnStatem, sys } from '../../../src/index.ts';
import { simulatedNode, stateOf } from './helpers.ts';

/**
 * Small machines in the manner of XState's own examples, run twice: by XState's `createActor` on
 * XState's `SimulatedClock`, and by Governor on its own. Both get the same events and the same
 * time; their state values and contexts must agree. Machines here are sent only events their
 * current state takes (Governor keeps an event nobody takes, XState drops it).
 */

type Ev = { type: string; [key: string]: unknown };
type Ctx = { log: string[] };

const types = {} as { context: Ctx; events: Ev };
const note = (label?: string) => assign<Ctx, Ev, undefined, Ev, never>({ log: ({ context, event }) => [...context.log, label ?? tag(event)] });
const tag = (event: Ev) => (event.n === undefined ? event.type : `${event.type}:${String(event.n)}`);

function sideBySide(machine: AnyStateMachine) {
  const xClock = new XStateClock();
  const actor = createActor(machine, { clock: xClock });
  actor.subscribe({ error: () => {} }); // an errored actor is looked at, not rethrown
  actor.start();
  const { node, clock } = simulatedNode();
  const pid = spawnStatem(node, machine);
  return {
    node,
    pid,
    send(event: Ev): void {
      actor.send(event);
      node.cast(pid, event);
    },
    /**
     * Time moves a millisecond at a time on both clocks. XState's clock jumps to the end of an
     * advance and starts a timer set on the way from there; Governor's starts it from when it was
     * set. Stepping by 1 ms keeps both at every deadline, which is what real time does.
     */
    advance(ms: number): void {
      for (let i = 0; i < ms; i++) {
        xClock.increment(1);
        clock.advance(1);
      }
    },
    /** XState's side alone, where the two differ on purpose. */
    xstate: () => actor.getSnapshot() as { status: string; value: unknown; context: Ctx },
    /** Both sides' `{ value, context }`, checked equal; returned for the test's own expectations. */
    same(): { value: unknown; context: Ctx } {
      const x = actor.getSnapshot();
      expect(x.status).toBe('active');
      expect(node.isAlive(pid)).toBe(true);
      const governor = stateOf<Ctx>(node, pid);
      expect(governor).toEqual({ value: x.value, context: x.context });
      return governor;
    },
  };
}

describe('delayed raise', () => {
  it('without an id: each one fires at its own time (issue 21: only the last one fired)', () => {
    const machine = setup({ types }).createMachine({
      id: 'two-raises',
      context: { log: [] },
      entry: [raise({ type: 'GO', n: 1 }, { delay: 10 }), raise({ type: 'GO', n: 2 }, { delay: 100 })],
      on: { GO: { actions: note() } },
    });
    const run = sideBySide(machine);
    run.advance(10);
    expect(run.same().context.log).toEqual(['GO:1']);
    run.advance(90);
    expect(run.same().context.log).toEqual(['GO:1', 'GO:2']);
    expect(sys.getStatus(run.node, run.pid).timers).toEqual([]);
  });

  it('without an id, raised again by each event: every raise keeps its own timer', () => {
    const machine = setup({ types }).createMachine({
      id: 'echo',
      context: { log: [] },
      on: { SAY: { actions: [note(), raise(({ event }) => ({ type: 'ECHO', n: event.n }), { delay: 30 })] }, ECHO: { actions: note() } },
    });
    const run = sideBySide(machine);
    run.send({ type: 'SAY', n: 1 });
    run.advance(10);
    run.send({ type: 'SAY', n: 2 });
    run.advance(20);
    expect(run.same().context.log).toEqual(['SAY:1', 'SAY:2', 'ECHO:1']);
    run.advance(10);
    expect(run.same().context.log).toEqual(['SAY:1', 'SAY:2', 'ECHO:1', 'ECHO:2']);
  });

  const pinger = setup({ types }).createMachine({
    id: 'pinger',
    context: { log: [] },
    entry: raise({ type: 'PING' }, { delay: 50, id: 'ping' }),
    on: { PING: { actions: note() }, HUSH: { actions: [note(), cancel('ping')] } },
  });

  it('with an id fires when due', () => {
    const run = sideBySide(pinger);
    run.advance(49);
    expect(run.same().context.log).toEqual([]);
    run.advance(1);
    expect(run.same().context.log).toEqual(['PING']);
  });

  it('with an id is stopped by cancel(id)', () => {
    const run = sideBySide(pinger);
    run.advance(20);
    run.send({ type: 'HUSH' });
    run.advance(100);
    expect(run.same().context.log).toEqual(['HUSH']);
  });

  it('sendTo the actor itself with a delay is a delayed raise', () => {
    const machine = setup({ types }).createMachine({
      id: 'self-send',
      context: { log: [] },
      on: { GO: { actions: [note(), sendTo(({ self }) => self, { type: 'BACK' }, { delay: 20 })] }, BACK: { actions: note() } },
    });
    const run = sideBySide(machine);
    run.send({ type: 'GO' });
    run.advance(19);
    expect(run.same().context.log).toEqual(['GO']);
    run.advance(1);
    expect(run.same().context.log).toEqual(['GO', 'BACK']);
  });
});

describe('after', () => {
  const machine = setup({ types }).createMachine({
    id: 'lamp',
    context: { log: [] },
    initial: 'on',
    states: {
      // Two delays in one state: the first does not cancel the second, leaving cancels what is left.
      on: { after: { 100: { actions: note('dim') }, 250: 'dimmed' } },
      dimmed: { entry: note('dimmed'), after: { 50: 'off', 500: 'on' } },
      off: { on: { SWITCH: 'on' } },
    },
  });

  it('with two delays: both fire in one state, and leaving it cancels the rest', () => {
    const run = sideBySide(machine);
    run.advance(100);
    expect(run.same()).toEqual({ value: 'on', context: { log: ['dim'] } });
    run.advance(150);
    expect(run.same()).toEqual({ value: 'dimmed', context: { log: ['dim', 'dimmed'] } });
    run.advance(50);
    expect(run.same().value).toBe('off');
    run.advance(1_000);
    expect(run.same()).toEqual({ value: 'off', context: { log: ['dim', 'dimmed'] } });
    // The 500 ms `after` of `dimmed` was cancelled on exit, not kept for a later state.
    expect(sys.getStatus(run.node, run.pid)).toMatchObject({ timers: [], postponed: 0 });
  });

  it('re-entering a state starts its delays over', () => {
    const run = sideBySide(machine);
    run.advance(300);
    run.send({ type: 'SWITCH' });
    run.advance(100);
    expect(run.same()).toEqual({ value: 'on', context: { log: ['dim', 'dimmed', 'dim'] } });
    run.advance(150);
    expect(run.same().value).toBe('dimmed');
  });
});

describe('transitions', () => {
  it('a guarded chain takes the first transition whose guard holds', () => {
    type Score = { n: number; log: string[] };
    const machine = setup({
      types: {} as { context: Score; events: Ev },
      guards: { atLeast: ({ context }, params: { min: number }) => context.n >= params.min },
    }).createMachine({
      id: 'score',
      context: { n: 0, log: [] },
      initial: 'low',
      on: {
        ADD: { actions: assign({ n: ({ context, event }) => context.n + (event.by as number) }) },
        CHECK: [
          { guard: { type: 'atLeast', params: { min: 10 } }, target: '.high' },
          { guard: { type: 'atLeast', params: { min: 5 } }, target: '.mid' },
          { target: '.low' },
        ],
      },
      states: { low: {}, mid: {}, high: {} },
    });
    const run = sideBySide(machine);
    const values: unknown[] = [];
    for (const by of [6, 5, -20]) {
      run.send({ type: 'ADD', by });
      run.send({ type: 'CHECK' });
      values.push(run.same().value);
    }
    expect(values).toEqual(['mid', 'high', 'low']);
  });

  it('exit, transition and entry actions run in XState order, and a raised event is taken in the same step', () => {
    const machine = setup({ types }).createMachine({
      id: 'order',
      context: { log: [] },
      initial: 'a',
      states: {
        a: { entry: note('enter a'), exit: note('exit a'), on: { GO: { target: 'b', actions: note('GO') } } },
        b: {
          entry: [note('enter b'), raise({ type: 'NEXT' })],
          exit: note('exit b'),
          initial: 'b1',
          states: {
            b1: { entry: note('enter b1'), exit: note('exit b1'), on: { NEXT: 'b2' } },
            b2: { entry: note('enter b2'), on: { BACK: '#order.a' } },
          },
        },
      },
    });
    const run = sideBySide(machine);
    run.send({ type: 'GO' });
    expect(run.same()).toEqual({
      value: { b: 'b2' },
      context: { log: ['enter a', 'exit a', 'GO', 'enter b', 'enter b1', 'exit b1', 'enter b2'] },
    });
    run.send({ type: 'BACK' });
    expect(run.same().context.log.slice(-2)).toEqual(['exit b', 'enter a']);
  });

  it('always transitions are taken until none is enabled', () => {
    type Count = { n: number; log: string[] };
    const machine = setup({ types: {} as { context: Count; events: Ev } }).createMachine({
      id: 'counter',
      context: { n: 0, log: [] },
      initial: 'check',
      states: {
        check: { always: [{ guard: ({ context }) => context.n >= 3, target: 'enough' }, { target: 'counting' }] },
        counting: { on: { INC: { target: 'check', actions: assign({ n: ({ context }) => context.n + 1 }) } } },
        enough: { on: { RESET: { target: 'check', actions: assign({ n: 0 }) } } },
      },
    });
    const run = sideBySide(machine);
    expect(run.same().value).toBe('counting');
    run.send({ type: 'INC' });
    run.send({ type: 'INC' });
    expect(run.same()).toEqual({ value: 'counting', context: { n: 2, log: [] } });
    run.send({ type: 'INC' });
    expect(run.same().value).toBe('enough');
    run.send({ type: 'RESET' });
    expect(run.same()).toEqual({ value: 'counting', context: { n: 0, log: [] } });
  });
});

describe('state kinds', () => {
  it('parallel regions each take their events, and a guard can look at the other region', () => {
    const machine = setup({ types, guards: { boldOn: stateIn('#editor.bold.on') } }).createMachine({
      id: 'editor',
      context: { log: [] },
      type: 'parallel',
      states: {
        bold: { initial: 'off', states: { off: { on: { BOLD: 'on' } }, on: { on: { BOLD: 'off' } } }, on: { RESET: '.off' } },
        list: {
          initial: 'none',
          states: {
            none: { on: { BULLETS: [{ guard: 'boldOn', target: 'bullets', actions: note('bold bullets') }, { target: 'bullets' }] } },
            bullets: { on: { NONE: 'none' } },
          },
          on: { RESET: '.none' },
        },
      },
    });
    const run = sideBySide(machine);
    run.send({ type: 'BULLETS' });
    expect(run.same()).toEqual({ value: { bold: 'off', list: 'bullets' }, context: { log: [] } });
    run.send({ type: 'NONE' });
    run.send({ type: 'BOLD' });
    run.send({ type: 'BULLETS' });
    expect(run.same()).toEqual({ value: { bold: 'on', list: 'bullets' }, context: { log: ['bold bullets'] } });
    run.send({ type: 'RESET' });
    expect(run.same().value).toEqual({ bold: 'off', list: 'none' });
  });

  it('shallow and deep history states go back to where the machine was', () => {
    const machine = setup({ types }).createMachine({
      id: 'player',
      context: { log: [] },
      initial: 'on',
      states: {
        on: {
          initial: 'playing',
          states: {
            playing: { initial: 'normal', states: { normal: { on: { FAST: 'fast' } }, fast: {} }, on: { PAUSE: 'paused' } },
            paused: { on: { PLAY: 'playing' } },
            shallow: { type: 'history' },
            deep: { type: 'history', history: 'deep' },
          },
          on: { POWER: 'off' },
        },
        off: { on: { POWER_DEEP: 'on.deep', POWER_SHALLOW: 'on.shallow' } },
      },
    });
    const run = sideBySide(machine);
    run.send({ type: 'FAST' });
    run.send({ type: 'POWER' });
    run.send({ type: 'POWER_DEEP' });
    expect(run.same().value).toEqual({ on: { playing: 'fast' } });
    run.send({ type: 'POWER' });
    run.send({ type: 'POWER_SHALLOW' });
    expect(run.same().value).toEqual({ on: { playing: 'normal' } });
    run.send({ type: 'PAUSE' });
    run.send({ type: 'POWER' });
    run.send({ type: 'POWER_SHALLOW' });
    expect(run.same().value).toEqual({ on: 'paused' });
  });
});

describe('route', () => {
  it('an xstate.route event takes the machine to a routable state, its guard permitting', () => {
    type Wizard = { log: string[]; admin: boolean };
    const machine = setup({ types: {} as { context: Wizard; events: Ev } }).createMachine({
      id: 'wizard',
      context: { log: [], admin: false },
      initial: 'details',
      on: { PROMOTE: { actions: assign({ admin: true }) } },
      states: {
        details: { id: 'details', route: {}, on: { NEXT: 'payment' } },
        payment: { id: 'payment', on: { NEXT: 'review' } },
        review: { id: 'review', route: { guard: ({ context }) => context.admin }, entry: assign({ log: ({ context }) => [...context.log, 'review'] }) },
      },
    });
    const run = sideBySide(machine);
    run.send({ type: 'NEXT' });
    run.send({ type: 'xstate.route', to: '#details' });
    expect(run.same().value).toBe('details');
    run.send({ type: 'PROMOTE' });
    run.send({ type: 'xstate.route', to: '#review' });
    expect(run.same()).toEqual({ value: 'review', context: { log: ['review'], admin: true } });
  });
});

describe('where Governor differs on purpose (README, Semantics)', () => {
  it('a delayed event with delay 0 is taken before a message sent after it', () => {
    const machine = setup({ types }).createMachine({
      id: 'zero',
      context: { log: [] },
      entry: raise({ type: 'SOON' }, { delay: 0 }),
      on: { SOON: { actions: note() }, LATER: { actions: note() } },
    });
    const run = sideBySide(machine);
    run.send({ type: 'LATER' });
    run.advance(1);
    expect(stateOf<Ctx>(run.node, run.pid).context.log).toEqual(['SOON', 'LATER']);
    expect(run.xstate().context.log).toEqual(['LATER', 'SOON']);
  });

  it('a second delayed event with the same id replaces the first', () => {
    const machine = setup({ types }).createMachine({
      id: 'same-id',
      context: { log: [] },
      entry: [raise({ type: 'TICK', n: 1 }, { delay: 10, id: 't' }), raise({ type: 'TICK', n: 2 }, { delay: 20, id: 't' })],
      on: { TICK: { actions: note() } },
    });
    const run = sideBySide(machine);
    run.advance(20);
    expect(stateOf<Ctx>(run.node, run.pid).context.log).toEqual(['TICK:2']);
    expect(run.xstate().context.log).toEqual(['TICK:1', 'TICK:2']);
  });

  it('a step that throws part-way runs none of its actions; XState has run those before the throw', () => {
    const ran: string[] = [];
    const machine = setup({ types }).createMachine({
      id: 'half-step',
      context: { log: [] },
      on: {
        GO: {
          actions: [
            () => void ran.push('custom'),
            assign(() => {
              throw new Error('boom');
            }),
          ],
        },
      },
    });
    const run = sideBySide(machine);
    run.send({ type: 'GO' });
    expect(run.xstate().status).toBe('error');
    expect(ran).toEqual(['custom']); // XState's, not Governor's
    expect(run.node.isAlive(run.pid)).toBe(false);
  });
});
