import { afterEach, describe, expect, it, vi } from 'vitest';
import { assign, cancel, enqueueActions, raise, setup } from 'xstate';
import {
  SimulatedClock,
  cancelStateTimeout,
  cancelTimer,
  createNode,
  eventTimeout,
  nextEvent,
  spawnStatem,
  startTimer,
  stateTimeout,
  sys,
  systemClock,
  updateStateTimeout,
  updateTimer,
} from '../../../src/index.ts';
import { simulatedNode, stateOf, watch } from './helpers.ts';

type Ev = { type: string; [key: string]: unknown };
type Ctx = { log: string[] };

/** Appends `<event type>@<now>` to the log; the clock is read through the event when it carries `at`. */
const note = (label?: string) =>
  assign<Ctx, Ev, undefined, Ev, never>({ log: ({ context, event }) => [...context.log, label ?? event.type] });

function timersOf(node: ReturnType<typeof simulatedNode>['node'], pid: Parameters<typeof sys.getStatus>[1]) {
  return sys.getStatus(node, pid).timers;
}

/** A door that closes itself 1 s after it opens (gen_statem's state_timeout). */
const door = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
  id: 'door',
  context: { log: [] },
  initial: 'closed',
  states: {
    closed: { on: { open: 'open' } },
    open: {
      meta: { stateTimeout: { ms: 1_000, event: 'close' } },
      on: {
        close: { target: 'closed', actions: note('closed') },
        touch: { actions: note('touched') },
        reenter: { target: 'open', reenter: true, actions: note('reentered') },
        leave: 'hall',
      },
    },
    hall: { on: { back: 'open' } },
  },
});

describe('state timeouts', () => {
  it('fire after their time in the state, not before', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, door);
    node.cast(pid, { type: 'open' });
    clock.advance(999);
    expect(stateOf(node, pid).value).toBe('open');
    clock.advance(1);
    expect(stateOf(node, pid).value).toBe('closed');
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['closed']);
  });

  it('are cancelled by a state change, and a later entry arms a fresh one', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, door);
    node.cast(pid, { type: 'open' });
    clock.advance(600);
    node.cast(pid, { type: 'leave' });
    expect(timersOf(node, pid)).toEqual([]);
    clock.advance(10_000);
    expect(stateOf(node, pid).value).toBe('hall');
    // Had it fired, `close` (not taken in `hall`) would be waiting among the postponed events.
    expect(sys.getStatus(node, pid).postponed).toBe(0);

    node.cast(pid, { type: 'back' }); // at 10 600
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ kind: 'state', deadline: 11_600, event: { type: 'close' } })]);
    clock.advance(999);
    expect(stateOf(node, pid).value).toBe('open');
    clock.advance(1);
    expect(stateOf(node, pid).value).toBe('closed');
  });

  it('are not restarted by a transition that stays in the state without leaving it (a data change)', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, door);
    node.cast(pid, { type: 'open' });
    clock.advance(400);
    node.cast(pid, { type: 'touch' });
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ deadline: 1_000 })]);
    clock.advance(600);
    expect(stateOf(node, pid).value).toBe('closed');
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['touched', 'closed']);
  });

  it('are re-armed by a re-entering transition (reenter: true, gen_statem repeat_state)', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, door);
    node.cast(pid, { type: 'open' });
    clock.advance(800);
    node.cast(pid, { type: 'reenter' }); // at 800: a fresh second from here
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ kind: 'state', deadline: 1_800 })]);
    clock.advance(999);
    expect(stateOf(node, pid).value).toBe('open');
    clock.advance(1);
    expect(stateOf(node, pid).value).toBe('closed');
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['reentered', 'closed']);
  });

  it('are re-armed only for the states a transition re-enters, by XState’s rule for its domain', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'nested-reentry',
      context: { log: [] },
      initial: 'working',
      states: {
        working: {
          meta: { stateTimeout: { ms: 1_000, event: 'giveUp' } },
          initial: 'a',
          on: {
            again: { target: 'working', reenter: true }, // leaves and enters `working` and `a`
            toA: '.a', // non-reentering: `a` is left and entered again, `working` is not
            giveUp: 'failed',
          },
          states: { a: { meta: { stateTimeout: { ms: 300, event: 'aDone' } } } },
        },
        failed: {},
      },
    });
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, machine);
    const deadlines = () => Object.fromEntries(timersOf(node, pid).map((t) => [t.name, t.deadline]));
    expect(deadlines()).toEqual({ 'state:nested-reentry.working': 1_000, 'state:nested-reentry.working.a': 300 });

    clock.advance(100);
    node.cast(pid, { type: 'toA' });
    expect(deadlines()).toEqual({ 'state:nested-reentry.working': 1_000, 'state:nested-reentry.working.a': 400 });

    clock.advance(100);
    node.cast(pid, { type: 'again' });
    expect(deadlines()).toEqual({ 'state:nested-reentry.working': 1_200, 'state:nested-reentry.working.a': 500 });
  });

  it('belong to their state node: a parent keeps its timeout while its children change', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'nested',
      context: { log: [] },
      initial: 'working',
      states: {
        working: {
          meta: { stateTimeout: { ms: 1_000, event: { type: 'giveUp', why: 'slow' } } },
          initial: 'a',
          on: { giveUp: { target: 'failed', actions: assign({ log: ({ event }) => [String(event.why)] }) } },
          states: {
            a: { meta: { stateTimeout: { ms: 300, event: 'toB' } }, on: { toB: 'b', skip: 'b' } },
            b: {},
          },
        },
        failed: {},
      },
    });
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, machine);
    clock.advance(100);
    node.cast(pid, { type: 'skip' }); // leaves `a`: its 300 ms timeout goes, the parent's stays
    expect(timersOf(node, pid).map((t) => t.deadline)).toEqual([1_000]);
    clock.advance(899);
    expect(stateOf(node, pid).value).toEqual({ working: 'b' });
    clock.advance(1);
    expect(stateOf(node, pid).value).toBe('failed');
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['slow']);
  });

  it('are armed on the initial state when the actor starts', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'starting',
      context: { log: [] },
      initial: 'booting',
      states: { booting: { meta: { stateTimeout: { ms: 50, event: 'ready' } }, on: { ready: 'up' } }, up: {} },
    });
    const { node, clock } = simulatedNode({ start: 1_000 });
    const pid = spawnStatem(node, machine);
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ kind: 'state', deadline: 1_050 })]);
    clock.advance(50);
    expect(stateOf(node, pid).value).toBe('up');
  });

  it('refuse a malformed declaration when the actor is spawned', () => {
    const { node } = simulatedNode();
    const bad: unknown[] = [
      { ms: -1, event: 'x' },
      { ms: Number.NaN, event: 'x' },
      { ms: Infinity, event: 'x' },
      { ms: '10', event: 'x' },
      { ms: 10 },
      { ms: 10, event: { kind: 'no type' } },
      { ms: 10, event: 42 },
      'soon',
      null,
    ];
    for (const stateTimeout of bad) {
      const machine = setup({}).createMachine({ id: 'bad', initial: 'a', states: { a: { meta: { stateTimeout } } } });
      expect(() => spawnStatem(node, machine), JSON.stringify(stateTimeout)).toThrow(TypeError);
    }
    expect(node.stats.processes).toBe(0);
  });
});

/** Waits for input; `idle` after `ms` with no event at all (gen_statem's event timeout). */
const waiter = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
  id: 'waiter',
  context: { log: [] },
  initial: 'waiting',
  states: {
    waiting: {
      meta: { postpone: ['later'] },
      on: {
        arm: { actions: eventTimeout(({ event }) => (event.ms as number | undefined) ?? 100, { type: 'idle' }) },
        armThenInsert: { actions: [eventTimeout(100, { type: 'idle' }), nextEvent({ type: 'known' })] },
        armWithTimer: { actions: [eventTimeout(100, { type: 'idle' }), startTimer('tick', 50, { type: 'known' })] },
        idle: { actions: note() },
        known: { actions: note() },
        go: 'elsewhere',
      },
    },
    elsewhere: { on: { idle: { actions: note('idle in elsewhere') } } },
  },
});

describe('event timeouts', () => {
  it('fire when no event arrives in time', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, waiter);
    node.cast(pid, { type: 'arm' });
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ kind: 'event', deadline: 100 })]);
    clock.advance(99);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
    clock.advance(1);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['idle']);
  });

  it('are cancelled by any handled event', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, waiter);
    node.cast(pid, { type: 'arm' });
    clock.advance(50);
    node.cast(pid, { type: 'known' });
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['known']);
  });

  it('are cancelled even by an event the state does not take but postpones', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, waiter);
    node.cast(pid, { type: 'arm' });
    node.send(pid, { type: 'later' });
    expect(timersOf(node, pid)).toEqual([]);
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
    expect(sys.getStatus(node, pid).postponed).toBe(1);
  });

  it('are cancelled by another timer firing, which is an event too', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, waiter);
    node.cast(pid, { type: 'armWithTimer' });
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['known']);
  });

  it('are cancelled by an inserted next_event (it counts as arrived)', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, waiter);
    node.cast(pid, { type: 'armThenInsert' });
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['known']);
  });

  it('are not cancelled by a state change alone, and restart when set again', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, waiter);
    node.cast(pid, { type: 'arm', ms: 100 });
    clock.advance(60);
    node.cast(pid, { type: 'arm', ms: 100 }); // any event cancels; the new one runs from now
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ kind: 'event', deadline: 160 })]);
    clock.advance(99);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
    clock.advance(1);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['idle']);
  });
});

/** Named generic timers (`{timeout, Name}`): only cancelTimer or firing ends them. */
const ticker = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
  id: 'ticker',
  context: { log: [] },
  initial: 'one',
  on: {
    start: {
      actions: enqueueActions(({ event, enqueue }) =>
        enqueue(startTimer(String(event.name), event.ms as number, { type: 'fired', name: event.name })),
      ),
    },
    startA: { actions: startTimer('a', ({ event }) => event.ms as number, { type: 'fired', name: 'a' }) },
    startB: { actions: startTimer('b', 100, { type: 'fired', name: 'b' }) },
    cancelA: { actions: cancelTimer('a') },
    cancelUnknown: { actions: cancelTimer('never-started') },
    fired: { actions: assign({ log: ({ context, event }) => [...context.log, `fired:${String(event.name)}`] }) },
    external: { actions: note() },
  },
  states: { one: { on: { next: 'two' } }, two: { on: { next: 'one' } } },
});

describe('generic (named) timeouts', () => {
  it('survive any number of events and state changes', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    node.cast(pid, { type: 'startA', ms: 100 });
    for (let i = 0; i < 9; i++) {
      clock.advance(10);
      node.cast(pid, { type: 'next' });
    }
    expect(stateOf(node, pid).value).toBe('two');
    clock.advance(10);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['fired:a']);
    expect(timersOf(node, pid)).toEqual([]);
  });

  it('restart when started again under the same name, and fire once', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    node.cast(pid, { type: 'startA', ms: 100 });
    clock.advance(50);
    node.cast(pid, { type: 'startA', ms: 100 });
    clock.advance(99);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
    clock.advance(1);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['fired:a']);
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['fired:a']);
  });

  it('restarted while its timeout already waits in the mailbox: the stale timeout is dropped and the new one fires at its own time', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    node.cast(pid, { type: 'startA', ms: 100 });
    sys.suspend(node, pid);
    node.cast(pid, { type: 'startA', ms: 100 }); // waits in the mailbox, ahead of the timeout
    clock.advance(100); // the first timer falls due: its timeout joins the mailbox behind the restart
    sys.resume(node, pid);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ name: 'generic:a', deadline: 200 })]);
    clock.advance(100);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['fired:a']);
  });

  it('cancelled while its timeout already waits in the mailbox does not fire (gen_statem: a cancelled timer never delivers)', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    node.cast(pid, { type: 'startA', ms: 100 });
    sys.suspend(node, pid);
    node.cast(pid, { type: 'cancelA' });
    clock.advance(100);
    sys.resume(node, pid);
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
  });

  it('run side by side under different names; cancelTimer stops only its own', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    node.cast(pid, { type: 'startA', ms: 100 });
    node.cast(pid, { type: 'startB' });
    expect(timersOf(node, pid).map((t) => t.kind)).toEqual(['generic', 'generic']);
    node.cast(pid, { type: 'cancelA' });
    node.cast(pid, { type: 'cancelUnknown' });
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['fired:b']);
    expect(node.isAlive(pid)).toBe(true);
  });

  it('keep names apart from state and event timeouts, however they are spelled', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    for (const name of ['event', 'state:ticker.one', 'delay:x', '', 'a:b']) node.cast(pid, { type: 'start', name, ms: 10 });
    expect(timersOf(node, pid)).toHaveLength(5);
    clock.advance(10);
    expect([...stateOf<Ctx>(node, pid).context.log].sort()).toEqual(
      ['fired:', 'fired:a:b', 'fired:delay:x', 'fired:event', 'fired:state:ticker.one'].sort(),
    );
  });

  it('with Infinity never fire and cancel a running timer of that name (gen_statem: infinity cancels)', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    node.cast(pid, { type: 'startA', ms: 100 });
    node.cast(pid, { type: 'startA', ms: Infinity });
    expect(timersOf(node, pid)).toEqual([]);
    clock.advance(1e12);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
  });

  it('crash the actor when the time is not a number ≥ 0', () => {
    for (const ms of [-1, Number.NaN, '5', undefined]) {
      const { node } = simulatedNode();
      const pid = spawnStatem(node, ticker);
      const seen = watch(node, pid);
      node.cast(pid, { type: 'startA', ms });
      expect(seen.down, String(ms)).toBe(true);
      expect(seen.reason).toBeInstanceOf(TypeError);
    }
  });
});

/**
 * A job that retries with a computed state timeout (`stateTimeout` from an action): `waiting`
 * sets it on entry from the context; `extend` sets it again, `cancel` cancels it, `relabel`
 * changes its event; `move` changes state without touching it, `moveAndSet` changes state and
 * sets one for the new state in the same transition.
 */
const retrier = setup({ types: {} as { context: Ctx & { ms: number }; events: Ev } }).createMachine({
  id: 'retrier',
  context: { log: [], ms: 250 },
  initial: 'waiting',
  states: {
    waiting: {
      entry: stateTimeout(({ context }) => context.ms, { type: 'expired' }),
      on: {
        expired: { target: 'gaveUp', actions: assign({ log: ({ context, event }) => [...context.log, `expired:${String(event.why ?? '')}`] }) },
        extend: { actions: stateTimeout(({ event }) => event.ms as number, { type: 'expired', why: 'extended' }) },
        extendAbs: { actions: stateTimeout(({ event }) => event.at as number, { type: 'expired', why: 'abs' }, { abs: true }) },
        cancel: { actions: cancelStateTimeout() },
        relabel: { actions: updateStateTimeout({ type: 'expired', why: 'relabelled' }) },
        move: 'other',
        moveAndSet: { target: 'other', actions: stateTimeout(100, { type: 'otherExpired' }) },
      },
    },
    other: { on: { otherExpired: { actions: assign({ log: ({ context }) => [...context.log, 'otherExpired'] }) }, relabel: { actions: updateStateTimeout({ type: 'otherExpired' }) } } },
    gaveUp: {},
  },
});

describe('state timeouts set by an action', () => {
  it('run for the computed time, and restart when set again', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, retrier);
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ name: 'state', kind: 'state', deadline: 250 })]);
    clock.advance(200);
    node.cast(pid, { type: 'extend', ms: 300 }); // from 200: due at 500
    clock.advance(299);
    expect(stateOf(node, pid).value).toBe('waiting');
    clock.advance(1);
    expect(stateOf(node, pid).value).toBe('gaveUp');
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['expired:extended']);
  });

  it('are cancelled by a state change, but one set by the transition that changes state belongs to the new state', () => {
    const { node, clock } = simulatedNode();
    const moved = spawnStatem(node, retrier);
    node.cast(moved, { type: 'move' });
    expect(timersOf(node, moved)).toEqual([]);

    // Set by one event, it is still cancelled by a state change that a later event makes.
    const extended = spawnStatem(node, retrier);
    node.cast(extended, { type: 'extend', ms: 300 });
    node.cast(extended, { type: 'move' });
    expect(timersOf(node, extended)).toEqual([]);

    const set = spawnStatem(node, retrier);
    node.cast(set, { type: 'moveAndSet' });
    expect(timersOf(node, set)).toEqual([expect.objectContaining({ name: 'state', deadline: 100 })]);
    clock.advance(1_000);
    expect(stateOf<Ctx>(node, set).context.log).toEqual(['otherExpired']);
    expect(stateOf(node, moved).value).toBe('other');
    expect(stateOf<Ctx>(node, moved).context.log).toEqual([]);
  });

  it('are cancelled by cancelStateTimeout, and not by an event that changes no state', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, retrier);
    node.cast(pid, { type: 'relabel' }); // an event that stays: the timer keeps running
    expect(timersOf(node, pid)).toHaveLength(1);
    node.cast(pid, { type: 'cancel' });
    expect(timersOf(node, pid)).toEqual([]);
    clock.advance(10_000);
    expect(stateOf(node, pid).value).toBe('waiting');
  });

  it('updateStateTimeout changes the event and keeps the deadline; with none running the event comes at once', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, retrier);
    clock.advance(100);
    node.cast(pid, { type: 'relabel' });
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ deadline: 250, event: { type: 'expired', why: 'relabelled' } })]);
    clock.advance(150);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['expired:relabelled']);

    const other = spawnStatem(node, retrier);
    node.cast(other, { type: 'move' }); // no state timeout in `other`
    node.cast(other, { type: 'relabel' });
    expect(stateOf<Ctx>(node, other).context.log).toEqual(['otherExpired']);
  });

  it('take an absolute deadline with { abs: true }; one already past fires at once', () => {
    const { node, clock } = simulatedNode({ start: 10_000 });
    const pid = spawnStatem(node, retrier);
    node.cast(pid, { type: 'extendAbs', at: 12_000 });
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ deadline: 12_000 })]);
    clock.advance(1_999);
    expect(stateOf(node, pid).value).toBe('waiting');
    clock.advance(1);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['expired:abs']);

    const late = spawnStatem(node, retrier);
    node.cast(late, { type: 'extendAbs', at: 5_000 });
    expect(stateOf<Ctx>(node, late).context.log).toEqual(['expired:abs']);
  });
});

/** Generic timers with update and absolute deadlines. */
const alarm = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
  id: 'alarm',
  context: { log: [] },
  on: {
    set: { actions: startTimer('ring', ({ event }) => event.ms as number, { type: 'ring', tone: 'beep' }) },
    setAt: { actions: startTimer('ring', ({ event }) => event.at as number, { type: 'ring', tone: 'abs' }, { abs: true }) },
    retone: { actions: updateTimer('ring', ({ event }) => ({ type: 'ring', tone: event.tone })) },
    ring: { actions: assign({ log: ({ context, event }) => [...context.log, `ring:${String(event.tone)}`] }) },
  },
});

describe('generic timeouts: update and absolute deadlines', () => {
  it('updateTimer changes the event of a running timer and keeps its deadline', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, alarm);
    node.cast(pid, { type: 'set', ms: 100 });
    clock.advance(60);
    node.cast(pid, { type: 'retone', tone: 'chime' });
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ name: 'generic:ring', deadline: 100, event: { type: 'ring', tone: 'chime' } })]);
    clock.advance(39);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
    clock.advance(1);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['ring:chime']);
  });

  it('updateTimer with no timer of that name running delivers the event at once (as a zero timeout)', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, alarm);
    node.cast(pid, { type: 'retone', tone: 'now' });
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['ring:now']);
    expect(timersOf(node, pid)).toEqual([]);
  });

  it('startTimer with { abs: true } fires at that time on the runtime clock', () => {
    const { node, clock } = simulatedNode({ start: 1_000 });
    const pid = spawnStatem(node, alarm);
    node.cast(pid, { type: 'setAt', at: 5_000 });
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ deadline: 5_000 })]);
    clock.advance(3_999);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
    clock.advance(1);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['ring:abs']);
  });

  it('crash the actor when an absolute time is not a number', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, alarm);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'setAt', at: 'tomorrow' });
    expect(seen.reason).toBeInstanceOf(TypeError);
  });
});

describe('zero and elapsed times', () => {
  it('a zero generic timeout fires before any external event not yet received, without the clock moving', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    node.cast(pid, { type: 'startA', ms: 0 });
    node.cast(pid, { type: 'external' });
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['fired:a', 'external']);
  });

  it('a zero state timeout fires as soon as the state is entered, and still goes after next_event', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'zero',
      context: { log: [] },
      initial: 'a',
      states: {
        a: { on: { go: { target: 'b', actions: nextEvent({ type: 'inserted' }) } } },
        b: {
          meta: { stateTimeout: { ms: 0, event: 'expired' } },
          on: { inserted: { actions: note() }, expired: { target: 'c', actions: note() } },
        },
        c: { on: { external: { actions: note() } } },
      },
    });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'go' });
    node.cast(pid, { type: 'external' });
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['inserted', 'expired', 'external']);
  });

  it('a zero timeout that is cancelled before its turn does not fire', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'zero-cancel',
      context: { log: [] },
      on: {
        go: { actions: [startTimer('z', 0, { type: 'z' }), nextEvent({ type: 'stopIt' })] },
        stopIt: { actions: [cancelTimer('z'), note()] },
        z: { actions: note() },
      },
    });
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'go' });
    clock.advance(10);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['stopIt']);
  });

  it('timers due at the same time fire in the order they were started', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    for (const name of ['c', 'a', 'b']) node.cast(pid, { type: 'start', name, ms: 10 });
    clock.advance(10);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['fired:c', 'fired:a', 'fired:b']);
  });

  it('a timer that fell due during one long advance fires once, with the clock at its deadline', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    const at: number[] = [];
    sys.trace(node, pid, (entry) => entry.kind === 'in' && at.push(entry.at));
    node.cast(pid, { type: 'startA', ms: 100 });
    clock.advance(1_000_000);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['fired:a']);
    expect(at).toEqual([0, 100]);
  });
});

describe('XState delays on the runtime clock', () => {
  const traffic = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
    id: 'traffic',
    context: { log: [] },
    initial: 'green',
    states: {
      green: { after: { 300: 'yellow' }, on: { emergency: 'red' } },
      yellow: { after: { 100: 'red' } },
      red: {
        entry: raise({ type: 'ping' }, { delay: 50, id: 'ping' }),
        on: { ping: { actions: note() }, hush: { actions: cancel('ping') } },
      },
    },
  });

  it('`after` transitions fire on the simulated clock', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, traffic);
    expect(timersOf(node, pid)).toEqual([expect.objectContaining({ kind: 'delay', deadline: 300 })]);
    clock.advance(299);
    expect(stateOf(node, pid).value).toBe('green');
    clock.advance(1);
    expect(stateOf(node, pid).value).toBe('yellow');
    clock.advance(100);
    expect(stateOf(node, pid).value).toBe('red');
    clock.advance(50);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['ping']);
  });

  it('leaving the state cancels its `after`, and cancel(id) cancels a delayed raise', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, traffic);
    clock.advance(200);
    node.cast(pid, { type: 'emergency' });
    node.cast(pid, { type: 'hush' });
    expect(timersOf(node, pid)).toEqual([]);
    clock.advance(10_000);
    expect(stateOf(node, pid).value).toBe('red');
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
  });

  it('two actors of one machine keep their own delays', () => {
    const { node, clock } = simulatedNode();
    const a = spawnStatem(node, traffic);
    clock.advance(200);
    const b = spawnStatem(node, traffic);
    clock.advance(100);
    expect(stateOf(node, a).value).toBe('yellow');
    expect(stateOf(node, b).value).toBe('green');
    clock.advance(200);
    expect(stateOf(node, b).value).toBe('yellow');
  });
});

describe('timers of a dead actor', () => {
  it('are cleared from the clock when the actor exits', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, ticker);
    node.cast(pid, { type: 'startA', ms: 100 });
    node.cast(pid, { type: 'startB' });
    expect(clock.pending).toBe(2);
    node.exit(pid, 'kill');
    expect(clock.pending).toBe(0);
    clock.advance(1_000);
    expect(node.stats.undelivered).toBe(0);
  });
});

describe('the clocks themselves', () => {
  it('the simulated clock refuses a time that is not finite or goes backwards, and stays usable', () => {
    const clock = new SimulatedClock(100);
    for (const bad of [Number.NaN, Infinity, -Infinity, '5' as unknown as number]) {
      expect(() => clock.advance(bad), String(bad)).toThrow(RangeError);
      expect(() => clock.set(bad), String(bad)).toThrow(RangeError);
    }
    expect(() => clock.advance(-1)).toThrow(RangeError);
    expect(() => new SimulatedClock(Number.NaN)).toThrow(RangeError);
    expect(clock.now()).toBe(100);
    let fired = 0;
    clock.setTimeout(() => fired++, 10);
    clock.setTimeout(() => fired++, Number.NaN); // as Node: no delay
    clock.setTimeout(() => fired++, -5);
    clock.advance(0);
    expect(fired).toBe(2);
    clock.advance(10);
    expect(fired).toBe(3);
    expect(clock.pending).toBe(0);
  });

  describe('the system clock (under fake timers)', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('fires a timer longer than Node’s 24.8-day limit when due, not after 1 ms', () => {
      vi.useFakeTimers();
      const month = 30 * 24 * 3_600_000;
      let fired = 0;
      systemClock.setTimeout(() => fired++, month);
      vi.advanceTimersByTime(1_000);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(month - 1_001);
      expect(fired).toBe(0);
      vi.advanceTimersByTime(1);
      expect(fired).toBe(1);
    });

    it('never fires Infinity, and clears a long timer at any stage', () => {
      vi.useFakeTimers();
      let fired = 0;
      systemClock.setTimeout(() => fired++, Infinity);
      const long = systemClock.setTimeout(() => fired++, 2 ** 32);
      vi.advanceTimersByTime(2 ** 31); // the long timer is on its second leg
      systemClock.clearTimeout(long);
      vi.advanceTimersByTime(2 ** 33);
      expect(fired).toBe(0);
      const short = systemClock.setTimeout(() => fired++, 10);
      systemClock.clearTimeout(short);
      vi.advanceTimersByTime(20);
      expect(fired).toBe(0);
    });

    it('a month-long state timeout of an actor on the system clock fires after a month', () => {
      vi.useFakeTimers();
      const machine = setup({}).createMachine({
        id: 'month',
        initial: 'trial',
        states: { trial: { meta: { stateTimeout: { ms: 30 * 24 * 3_600_000, event: 'expire' } }, on: { expire: 'expired' } }, expired: {} },
      });
      const node = createNode();
      const pid = spawnStatem(node, machine);
      vi.advanceTimersByTime(1_000);
      expect(stateOf(node, pid).value).toBe('trial');
      vi.advanceTimersByTime(30 * 24 * 3_600_000);
      expect(stateOf(node, pid).value).toBe('expired');
    });
  });
});

describe('state timeouts and a state change in the same transition (gen_statem cancels first, then runs the timeout actions)', () => {
  const machine = setup({ types: {} as { context: { got: string[] }; events: Ev } }).createMachine({
    id: 'handover',
    context: { got: [] },
    initial: 'a',
    states: {
      a: {
        on: {
          arm: { actions: stateTimeout(100, { type: 'first' }) },
          update: { target: 'b', actions: updateStateTimeout({ type: 'second' }) },
          rearm: { target: 'b', actions: stateTimeout(50, { type: 'third' }) },
        },
      },
      b: { on: { '*': { actions: assign({ got: ({ context, event }) => [...context.got, event.type] }) } } },
    },
  });

  it('an updateStateTimeout on a transition that changes state finds no timeout running: its event is handled at once', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'arm' });
    clock.advance(10);
    node.cast(pid, { type: 'update' });
    expect(stateOf<{ got: string[] }>(node, pid).context.got).toEqual(['second']);
    clock.advance(200);
    expect(stateOf<{ got: string[] }>(node, pid).context.got).toEqual(['second']);
  });

  it('a stateTimeout on a transition that changes state belongs to the new state', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'arm' });
    node.cast(pid, { type: 'rearm' });
    clock.advance(200);
    expect(stateOf<{ got: string[] }>(node, pid).context.got).toEqual(['third']);
  });
});
