import { describe, expect, it } from 'vitest';
import { assign, createActor, raise, setup } from 'xstate';
import {
  PERSISTED_STATE_VERSION,
  SimulatedClock,
  createNode,
  StartError,
  StatemProcess,
  eventTimeout,
  postpone,
  spawnStatem,
  startTimer,
  stateTimeout,
  updateTimer,
  sys,
  type Node,
  type PersistedActorState,
  type Pid,
} from '../../../src/index.ts';
import { simulatedNode, stateOf } from './helpers.ts';

type Ev = { type: string; [key: string]: unknown };
type Ctx = { log: string[]; entries: number; customer: string };

const note = assign<Ctx, Ev, undefined, Ev, never>({ log: ({ context, event }) => [...context.log, event.type] });

/**
 * A subscription: `trial` ends by state timeout after 1 000; a named `reminder` fires at 500;
 * `grace` has an XState `after`. `pay` is taken only in `active`, so it is postponed in `trial`.
 */
const subscription = setup({ types: {} as { context: Ctx; events: Ev; input: { customer: string } } }).createMachine({
  id: 'subscription',
  context: ({ input }) => ({ log: [], entries: 0, customer: input.customer }),
  initial: 'trial',
  states: {
    trial: {
      meta: { stateTimeout: { ms: 1_000, event: 'trialOver' }, postpone: ['pay'] },
      entry: [assign({ entries: ({ context }) => context.entries + 1 }), startTimer('reminder', 500, { type: 'remind' })],
      on: {
        trialOver: { target: 'grace', actions: note },
        remind: { actions: note },
        upgrade: 'active',
        idle: { actions: eventTimeout(300, { type: 'nudge' }) },
        nudge: { actions: note },
      },
    },
    grace: { after: { 2_000: 'cancelled' }, on: { pay: { target: 'active', actions: note } } },
    active: { on: { pay: { actions: note } } },
    cancelled: {},
  },
});

function persistOf(node: Node, pid: Pid): PersistedActorState {
  const process = node.processOf(pid);
  if (!(process instanceof StatemProcess)) throw new Error(`${pid} is not a gen_statem actor`);
  return process.persist();
}

/** What a store would keep: plain data only. */
function throughStore(state: PersistedActorState): PersistedActorState {
  return JSON.parse(JSON.stringify(state)) as PersistedActorState;
}

describe('persist()', () => {
  it('holds the snapshot, every timer deadline and the postponed events, under a version', () => {
    const { node, clock } = simulatedNode({ start: 10_000 });
    const pid = spawnStatem(node, subscription, { input: { customer: 'c-1' } });
    clock.advance(100);
    node.cast(pid, { type: 'pay', amount: 5 });
    node.cast(pid, { type: 'idle' });
    const state = persistOf(node, pid);
    expect(state.version).toBe(PERSISTED_STATE_VERSION);
    expect(state.machine).toBe('subscription');
    expect(state.snapshot).toMatchObject({ value: 'trial', context: { customer: 'c-1', entries: 1, log: [] }, status: 'active' });
    expect([...state.timers].sort((a, b) => a.deadline - b.deadline)).toEqual([
      { name: 'event', kind: 'event', deadline: 10_400, event: { type: 'nudge' } },
      { name: 'generic:reminder', kind: 'generic', deadline: 10_500, event: { type: 'remind' } },
      { name: 'state:subscription.trial', kind: 'state', deadline: 11_000, event: { type: 'trialOver' } },
    ]);
    expect(state.postponed).toEqual([{ type: 'pay', amount: 5 }]);
    expect(throughStore(state)).toEqual(state);
  });

  it('includes XState delays as timers of kind delay', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, subscription, { input: { customer: 'c' } });
    clock.advance(1_000);
    expect(stateOf(node, pid).value).toBe('grace');
    expect(persistOf(node, pid).timers).toEqual([expect.objectContaining({ kind: 'delay', deadline: 3_000 })]);
  });

  it("writes XState's own persisted snapshot, byte for byte: nested and history states, an actor in the context", () => {
    // What a store keeps and a wake compares against (a BullMQ node's cache keeps the object):
    // XState's persisted snapshot, as an object and as JSON, key order included.
    const outside = createActor(setup({}).createMachine({ id: 'outside' })).start();
    const nested = setup({ types: {} as { context: { n: number; ref?: unknown; deep: { list: number[] } }; input: { ref?: unknown } } }).createMachine({
      id: 'nested',
      context: ({ input }) => ({ n: 0, deep: { list: [1] }, ...(input.ref ? { ref: input.ref } : {}) }),
      initial: 'on',
      states: {
        on: {
          initial: 'a',
          states: { a: { on: { next: 'b' } }, b: {}, hist: { type: 'history', history: 'deep' } },
          on: { off: 'off', inc: { actions: assign({ n: ({ context }) => context.n + 1 }) } },
        },
        off: { on: { back: 'on.hist', end: 'done' } },
        done: { type: 'final' },
      },
    });
    const persistedAlike = (input: { ref?: unknown }, events: string[]) => {
      const { node } = simulatedNode();
      const pid = spawnStatem(node, nested, { input });
      for (const type of events) node.cast(pid, { type });
      const process = node.processOf(pid) as StatemProcess | undefined;
      const live = process?.snapshot ?? (node.processOf(pid) as never);
      const runtime = process?.persist().snapshot;
      const xstate = nested.getPersistedSnapshot(live as never);
      // As objects too: a store that keeps the object (a BullMQ node's cache) sees no live actor in it.
      expect(runtime).toEqual(xstate);
      return { runtime: JSON.stringify(runtime), xstate: JSON.stringify(xstate) };
    };
    for (const [input, events] of [
      [{}, []],
      [{}, ['inc', 'next', 'off']],
      [{}, ['next', 'off', 'back', 'inc']],
      [{ ref: outside }, ['inc']],
    ] as const) {
      const { runtime, xstate } = persistedAlike(input, [...events]);
      expect(runtime).toBe(xstate);
    }
    expect(persistedAlike({ ref: outside }, []).runtime).toContain('"ref":{"xstate$$type":1,"id":');
    expect(persistedAlike({}, ['next', 'off']).runtime).toContain('"historyValue":{"nested.on.hist":[{"id":"nested.on.b"}]}');
  });

  it('does not change the live actor', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, subscription, { input: { customer: 'c' } });
    persistOf(node, pid);
    clock.advance(1_000);
    expect(stateOf(node, pid).value).toBe('grace');
  });
});

describe('restoring on another node with a later clock', () => {
  function away(restoreAt: number, store: (state: PersistedActorState) => PersistedActorState = throughStore) {
    const first = simulatedNode({ name: 'a', start: 0 });
    const pid = spawnStatem(first.node, subscription, { input: { customer: 'c-9' } });
    first.clock.advance(100);
    first.node.cast(pid, { type: 'pay' });
    const state = store(persistOf(first.node, pid));
    first.node.exit(pid, 'kill');
    const second = simulatedNode({ name: 'b', start: restoreAt });
    const restored = spawnStatem(second.node, subscription, { restore: state });
    return { ...second, pid: restored };
  }

  it('keeps the state value and context, and does not re-run entry actions', () => {
    const { node, pid } = away(200);
    const state = stateOf<Ctx>(node, pid);
    expect(state.value).toBe('trial');
    expect(state.context).toEqual({ log: [], entries: 1, customer: 'c-9' });
  });

  it('fires at once a timeout that fell due while away, and the rest at their original deadlines', () => {
    const { node, clock, pid } = away(700); // the reminder (500) is overdue, the trial (1 000) is not
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['remind']);
    expect(sys.getStatus(node, pid).timers).toEqual([expect.objectContaining({ kind: 'state', deadline: 1_000 })]);
    clock.advance(299);
    expect(stateOf(node, pid).value).toBe('trial');
    clock.advance(1);
    // trial over → grace, which takes the postponed `pay` → active.
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['remind', 'trialOver', 'pay']);
    expect(stateOf(node, pid).value).toBe('active');
  });

  it('fires overdue timeouts in deadline order, then retries the postponed events after the state change', () => {
    const { node, pid } = away(5_000);
    // reminder (500), then trial over (1 000) → grace, where the postponed `pay` is taken; the
    // grace `after` was never armed before the actor left, so it starts from the restore.
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['remind', 'trialOver', 'pay']);
    expect(stateOf(node, pid).value).toBe('active');
    expect(sys.getStatus(node, pid).postponed).toBe(0);
  });

  it('fires overdue timeouts in deadline order whatever order the store kept them in', () => {
    // A store owes no order to a list (a row per timer, a hash): the latest deadline comes first here.
    const reversed = (state: PersistedActorState) => throughStore({ ...state, timers: [...state.timers].sort((a, b) => b.deadline - a.deadline) });
    const { node, pid } = away(5_000, reversed);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['remind', 'trialOver', 'pay']);
    expect(stateOf(node, pid).value).toBe('active');
  });

  it('keeps a restored postponed event that a postpone() action kept (the state takes it, and keeps it for later)', () => {
    const desk = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'desk',
      context: { log: [], entries: 0, customer: '' },
      initial: 'busy',
      states: {
        busy: { on: { job: { actions: postpone() }, free: 'free' } },
        free: { on: { job: { actions: note } } },
      },
    });
    const first = simulatedNode();
    const pid = spawnStatem(first.node, desk);
    first.node.cast(pid, { type: 'job' });
    const warnings: unknown[] = [];
    const node = createNode({ clock: new SimulatedClock(0), logger: { warn: (fields: unknown) => warnings.push(fields) } as never });
    const restored = spawnStatem(node, desk, { restore: throughStore(persistOf(first.node, pid)) });
    expect(sys.getStatus(node, restored).postponed).toBe(1);
    expect(warnings).toEqual([]);
    node.cast(restored, { type: 'free' });
    expect(stateOf<Ctx>(node, restored).context.log).toEqual(['job']);
  });

  it('drops, once and saying so, a restored postponed event no state takes or postpones (parked by the old implicit rule)', () => {
    const first = simulatedNode({ start: 0 });
    const pid = spawnStatem(first.node, subscription, { input: { customer: 'c' } });
    first.node.cast(pid, { type: 'pay', amount: 5 }); // declared postponed in trial: kept
    const state = throughStore(persistOf(first.node, pid));
    // What a state persisted before postpone was explicit may hold: an event nobody takes.
    const old = { ...state, postponed: [...state.postponed, { type: 'bare-event', sku: 'x' }] };
    const warnings: unknown[] = [];
    const node = createNode({ clock: new SimulatedClock(0), logger: { warn: (fields: unknown) => warnings.push(fields) } as never });
    const restored = spawnStatem(node, subscription, { restore: old });
    expect(sys.getStatus(node, restored).postponed).toBe(1);
    expect(sys.statistics(node, restored).unhandled).toBe(1);
    expect(warnings).toEqual([expect.objectContaining({ eventType: 'bare-event', state: 'trial' })]);
    // The next state change replays what was kept, and the actor lives on.
    node.cast(restored, { type: 'upgrade' });
    expect(node.isAlive(restored)).toBe(true);
    expect(stateOf<Ctx>(node, restored).context.log).toEqual(['pay']);
  });

  it('keeps postponed events until the next state change', () => {
    const { node, pid } = away(200);
    expect(sys.getStatus(node, pid).postponed).toBe(1);
    node.cast(pid, { type: 'upgrade' });
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['pay']);
  });

  it('restores an XState `after` at its original deadline', () => {
    const first = simulatedNode({ start: 0 });
    const pid = spawnStatem(first.node, subscription, { input: { customer: 'c' } });
    first.clock.advance(1_000); // → grace at 1 000, `after` due at 3 000
    const state = throughStore(persistOf(first.node, pid));
    const second = simulatedNode({ start: 2_500 });
    const restored = spawnStatem(second.node, subscription, { restore: state });
    second.clock.advance(499);
    expect(stateOf(second.node, restored).value).toBe('grace');
    second.clock.advance(1);
    expect(stateOf(second.node, restored).value).toBe('cancelled');
  });

  it('keeps each id-less delayed raise as a timer of its own, and later ones do not take their names', () => {
    const echo = setup({ types: {} as { context: { log: string[] }; events: Ev } }).createMachine({
      id: 'echo',
      context: { log: [] },
      on: {
        say: { actions: raise(({ event }) => ({ type: 'echo', n: event.n }), { delay: 100 }) },
        echo: { actions: assign({ log: ({ context, event }) => [...context.log, `echo:${String(event.n)}`] }) },
      },
    });
    const first = simulatedNode({ start: 0 });
    const pid = spawnStatem(first.node, echo);
    first.node.cast(pid, { type: 'say', n: 1 });
    first.clock.advance(10);
    first.node.cast(pid, { type: 'say', n: 2 });
    const state = throughStore(persistOf(first.node, pid));
    expect(state.timers.map((t) => [t.kind, t.deadline, t.event])).toEqual([
      ['delay', 100, { type: 'echo', n: 1 }],
      ['delay', 110, { type: 'echo', n: 2 }],
    ]);
    first.node.exit(pid, 'kill');
    const second = simulatedNode({ start: 50 });
    const restored = spawnStatem(second.node, echo, { restore: state });
    second.node.cast(restored, { type: 'say', n: 3 });
    expect(sys.getStatus(second.node, restored).timers).toHaveLength(3);
    second.clock.advance(100);
    expect(stateOf<{ log: string[] }>(second.node, restored).context.log).toEqual(['echo:1', 'echo:2', 'echo:3']);
  });

  it('restores a state that survives a second round trip unchanged', () => {
    const { node, pid } = away(200);
    const again = throughStore(persistOf(node, pid));
    const third = simulatedNode({ start: 200 });
    const pid3 = spawnStatem(third.node, subscription, { restore: again });
    expect(persistOf(third.node, pid3)).toEqual(again);
  });
});

describe('timers set by actions: computed state timeout, updated and absolute generic ones', () => {
  /** `waiting` sets a computed state timeout on entry; `retone` updates a generic timer; `billAt` sets one at an absolute time. */
  const job = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
    id: 'job',
    context: { log: [], entries: 0, customer: 'c' },
    initial: 'waiting',
    states: {
      waiting: {
        entry: [stateTimeout(({ context }) => 400 + context.customer.length * 100, { type: 'expired' }), startTimer('ping', 300, { type: 'ping', n: 1 })],
        on: {
          retone: { actions: updateTimer('ping', { type: 'ping', n: 2 }) },
          billAt: { actions: startTimer('bill', ({ event }) => event.at as number, { type: 'bill' }, { abs: true }) },
          expired: { target: 'done', actions: note },
          ping: { actions: assign({ log: ({ context, event }) => [...context.log, `ping${String(event.n)}`] }) },
          bill: { actions: note },
          leave: 'done',
        },
      },
      done: { on: { bill: { actions: note } } },
    },
  });

  function roundTrip(restoreAt: number) {
    const first = simulatedNode({ start: 0 });
    const pid = spawnStatem(first.node, job);
    first.node.cast(pid, { type: 'retone' });
    first.node.cast(pid, { type: 'billAt', at: 2_000 });
    const state = throughStore(persistOf(first.node, pid));
    first.node.exit(pid, 'kill');
    const second = simulatedNode({ start: restoreAt });
    return { state, ...second, pid: spawnStatem(second.node, job, { restore: state }) };
  }

  it('are persisted with their deadlines and current events', () => {
    const { state } = roundTrip(0);
    expect([...state.timers].sort((a, b) => a.deadline - b.deadline)).toEqual([
      { name: 'generic:ping', kind: 'generic', deadline: 300, event: { type: 'ping', n: 2 } },
      { name: 'state', kind: 'state', deadline: 500, event: { type: 'expired' } },
      { name: 'generic:bill', kind: 'generic', deadline: 2_000, event: { type: 'bill' } },
    ]);
  });

  it('are re-armed at their original deadlines when restored, and the state timeout still goes with the state', () => {
    const { node, clock, pid } = roundTrip(350); // the updated ping (300) is overdue
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['ping2']);
    clock.advance(149);
    expect(stateOf(node, pid).value).toBe('waiting');
    clock.advance(1); // 500: the computed state timeout
    expect(stateOf(node, pid).value).toBe('done');
    clock.advance(1_500); // 2 000: the absolute one
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['ping2', 'expired', 'bill']);

    const again = roundTrip(100);
    again.node.cast(again.pid, { type: 'leave' }); // a state change cancels the restored state timeout
    expect(sys.getStatus(again.node, again.pid).timers.map((t) => t.name).sort()).toEqual(['generic:bill', 'generic:ping']);
  });
});

describe('restoring a state that is not this machine’s', () => {
  const base = () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, subscription, { input: { customer: 'c' } });
    return throughStore(persistOf(node, pid));
  };

  it.each([
    ['another version', (s: PersistedActorState) => ({ ...s, version: 999 }), 'version is 999'],
    ['another machine', (s: PersistedActorState) => ({ ...s, machine: 'not-subscription' }), 'machine "not-subscription"'],
    ['timers that are not a list', (s: PersistedActorState) => ({ ...s, timers: 'soon' }), 'timers must be a list'],
    ['a timer without a name', (s: PersistedActorState) => ({ ...s, timers: [{ ...s.timers[0], name: 7 }] }), 'timers[0].name'],
    ['a timer without a deadline', (s: PersistedActorState) => ({ ...s, timers: [{ ...s.timers[0], deadline: null }] }), 'timers[0].deadline'],
    ['a timer due at no finite time', (s: PersistedActorState) => ({ ...s, timers: [{ ...s.timers[0], deadline: Infinity }] }), 'timers[0].deadline'],
    ['a timer of an unknown kind', (s: PersistedActorState) => ({ ...s, timers: [{ ...s.timers[0], kind: 'cron' }] }), 'timers[0].kind'],
    ['a timer whose event has no type', (s: PersistedActorState) => ({ ...s, timers: [{ ...s.timers[0], event: {} }] }), 'timers[0].event'],
    ['a timer that is null', (s: PersistedActorState) => ({ ...s, timers: [null] }), 'timers[0].name'],
    ['postponed events that are not a list', (s: PersistedActorState) => ({ ...s, postponed: {} }), 'postponed must be a list'],
    ['postponed events that are not events', (s: PersistedActorState) => ({ ...s, postponed: [{ type: 'ok' }, null] }), 'postponed[1]'],
    ['a negative journalLength', (s: PersistedActorState) => ({ ...s, journalLength: -1 }), 'journalLength'],
    ['a journalLength that is not whole', (s: PersistedActorState) => ({ ...s, journalLength: 1.5 }), 'journalLength'],
    ['no snapshot', (s: PersistedActorState) => ({ ...s, snapshot: undefined }), 'snapshot must be'],
    ['a null snapshot', (s: PersistedActorState) => ({ ...s, snapshot: null }), 'snapshot must be'],
    ['not an object', () => 'state', 'must be an object'],
  ])('%s is refused, saying so, and no process is left', (_label, corrupt, problem) => {
    const { node } = simulatedNode();
    const bad = corrupt(base()) as unknown as PersistedActorState;
    let thrown: unknown;
    try {
      spawnStatem(node, subscription, { restore: bad, name: 'sub' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StartError);
    expect((thrown as StartError).reason).toBeInstanceOf(TypeError);
    expect(((thrown as StartError).reason as Error).message).toContain(problem);
    expect(node.stats.processes).toBe(0);
    expect(node.whereis('sub')).toBeUndefined();
  });

  it('a journalLength of 0 or more is taken, and counted on', () => {
    const { node } = simulatedNode();
    for (const journalLength of [0, 3]) {
      const pid = spawnStatem(node, subscription, { restore: { ...base(), journalLength } });
      expect((node.processOf(pid) as StatemProcess).persist().journalLength).toBe(journalLength === 0 ? undefined : journalLength);
    }
  });
});
