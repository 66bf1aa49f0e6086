import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { PostponeOverflowError, UnhandledEventError, createNode, nextEvent, postpone, reply, spawnStatem, sys, type TraceEntry } from '../../../src/index.ts';
import { simulatedNode, stateOf, watch } from './helpers.ts';

type Ev = { type: string; [key: string]: unknown };
type Ctx = { log: string[]; data: number };

const log = assign<Ctx, Ev, undefined, Ev, never>({
  log: ({ context, event }) => [...context.log, event.id === undefined ? event.type : `${event.type}:${String(event.id)}`],
});

/**
 * `closed` takes only `open` and `tick` (a data-only change) and postpones `job`s and `ask`s
 * (`meta.postpone`); `open` takes them. A `job` that arrives while closed is kept until the state
 * changes.
 */
const shop = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
  id: 'shop',
  context: { log: [], data: 0 },
  initial: 'closed',
  states: {
    closed: {
      meta: { postpone: ['job', 'ask', 'guarded'] },
      on: {
        open: 'open',
        tick: { actions: assign({ data: ({ context }) => context.data + 1 }) },
        reenter: { target: 'closed', reenter: true },
        openWithInserts: { target: 'open', actions: [nextEvent({ type: 'job', id: 'n1' }), nextEvent({ type: 'job', id: 'n2' })] },
        guarded: { guard: () => false, actions: log },
      },
    },
    open: {
      on: {
        job: { actions: log },
        ask: { actions: [log, reply(({ event }) => `served ${String(event.id)}`)] },
        close: 'closed',
        half: 'half',
      },
    },
    // Takes only `b` jobs; the rest stay postponed.
    half: { meta: { postpone: (event: Ev) => event.type === 'job' }, on: { job: { guard: ({ event }) => event.id === 'b', actions: log }, open: 'open' } },
  },
});

const logOf = (node: ReturnType<typeof simulatedNode>['node'], pid: Parameters<typeof sys.getStatus>[1]) =>
  stateOf<Ctx>(node, pid).context.log;

describe('events a state postpones (meta.postpone)', () => {
  it('are kept and retried after the next state change, in arrival order', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    for (const id of ['a', 'b', 'c']) node.cast(pid, { type: 'job', id });
    expect(logOf(node, pid)).toEqual([]);
    expect(sys.getStatus(node, pid).postponed).toBe(3);
    node.cast(pid, { type: 'open' });
    expect(logOf(node, pid)).toEqual(['job:a', 'job:b', 'job:c']);
    expect(sys.getStatus(node, pid).postponed).toBe(0);
  });

  it('are not retried after a data-only change, nor after a re-entry of the same state', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    node.cast(pid, { type: 'job', id: 'a' });
    node.cast(pid, { type: 'tick' });
    node.cast(pid, { type: 'reenter' });
    expect(stateOf<Ctx>(node, pid).context.data).toBe(1);
    expect(logOf(node, pid)).toEqual([]);
    expect(sys.getStatus(node, pid).postponed).toBe(1);
  });

  it('include events whose only transition is guarded off, when the state lists them', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    node.cast(pid, { type: 'guarded' });
    expect(sys.getStatus(node, pid).postponed).toBe(1);
  });

  it('are postponed again when the new state does not take them either, keeping their order with newer ones', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    node.cast(pid, { type: 'open' });
    node.cast(pid, { type: 'half' });
    for (const id of ['a', 'b', 'c']) node.cast(pid, { type: 'job', id });
    expect(logOf(node, pid)).toEqual(['job:b']);
    node.cast(pid, { type: 'job', id: 'd' });
    node.cast(pid, { type: 'open' });
    expect(logOf(node, pid)).toEqual(['job:b', 'job:a', 'job:c', 'job:d']);
  });

  it('go before the mailbox once retried: a message that arrived after the change waits its turn', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    node.cast(pid, { type: 'job', id: 'early' });
    sys.suspend(node, pid);
    node.cast(pid, { type: 'open' });
    node.cast(pid, { type: 'job', id: 'late' });
    sys.resume(node, pid);
    expect(logOf(node, pid)).toEqual(['job:early', 'job:late']);
  });

  it('are dropped with the actor when it exits', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    node.cast(pid, { type: 'job', id: 'a' });
    node.exit(pid, 'kill');
    expect(() => sys.getStatus(node, pid)).toThrow();
  });
});

describe('the postpone() action', () => {
  const desk = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
    id: 'desk',
    context: { log: [], data: 0 },
    initial: 'busy',
    states: {
      // Takes `job` (it counts it) but keeps it for later.
      busy: {
        on: {
          job: { actions: [assign({ data: ({ context }) => context.data + 1 }), postpone()] },
          free: 'free',
          tick: { actions: assign({ data: ({ context }) => context.data + 100 }) },
          // Postponing on the transition that changes state retries the event in the new state at once.
          handOver: { target: 'free', actions: postpone() },
        },
      },
      free: { on: { job: { actions: log }, handOver: { actions: log }, busy: 'busy' } },
    },
  });

  it('keeps an event the state did take, and its actions still ran', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, desk);
    node.cast(pid, { type: 'job', id: 1 });
    node.cast(pid, { type: 'job', id: 2 });
    expect(stateOf<Ctx>(node, pid).context.data).toBe(2);
    expect(sys.getStatus(node, pid).postponed).toBe(2);
    node.cast(pid, { type: 'free' });
    expect(logOf(node, pid)).toEqual(['job:1', 'job:2']);
  });

  it('keeps only the event it was run for: once retried and taken, nothing is kept and later events are handled at once', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, desk);
    node.cast(pid, { type: 'job', id: 1 });
    node.cast(pid, { type: 'free' });
    expect(sys.getStatus(node, pid).postponed).toBe(0);
    node.cast(pid, { type: 'job', id: 2 });
    node.cast(pid, { type: 'handOver' });
    expect(logOf(node, pid)).toEqual(['job:1', 'job:2', 'handOver']);
    expect(sys.getStatus(node, pid).postponed).toBe(0);
  });

  it('is not retried after a data-only change: its actions do not run again until the state changes', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, desk);
    node.cast(pid, { type: 'job', id: 1 });
    node.cast(pid, { type: 'tick' });
    // A retry in `busy` would run the job's count again (data 102) and keep it once more.
    expect(stateOf<Ctx>(node, pid).context.data).toBe(101);
    expect(sys.getStatus(node, pid).postponed).toBe(1);
  });

  it('on a transition that changes state retries the event in the new state straight away', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, desk);
    node.cast(pid, { type: 'job', id: 1 });
    node.cast(pid, { type: 'handOver' });
    expect(stateOf(node, pid).value).toBe('free');
    expect(logOf(node, pid)).toEqual(['job:1', 'handOver']);
  });
});

describe('next_event', () => {
  it('goes before retried postponed events, which go before the mailbox', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    node.cast(pid, { type: 'job', id: 'p1' });
    node.cast(pid, { type: 'job', id: 'p2' });
    sys.suspend(node, pid);
    node.cast(pid, { type: 'openWithInserts' });
    node.cast(pid, { type: 'job', id: 'm' });
    sys.resume(node, pid);
    expect(logOf(node, pid)).toEqual(['job:n1', 'job:n2', 'job:p1', 'job:p2', 'job:m']);
  });

  it('an inserted event the state does not take is postponed like any other', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'insert-unknown',
      context: { log: [], data: 0 },
      initial: 'a',
      states: {
        a: { meta: { postpone: ['later'] }, on: { go: { actions: nextEvent({ type: 'later' }) }, goUnknown: { actions: nextEvent({ type: 'unknown' }) }, move: 'b' } },
        b: { on: { later: { actions: log } } },
      },
    });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'go' });
    expect(sys.getStatus(node, pid).postponed).toBe(1);
    node.cast(pid, { type: 'move' });
    expect(logOf(node, pid)).toEqual(['later']);
  });

  it('an inserted event the state neither takes nor postpones crashes the actor', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'insert-crash',
      context: { log: [], data: 0 },
      initial: 'a',
      states: { a: { on: { go: { actions: nextEvent({ type: 'unknown' }) } } } },
    });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'go' });
    expect(seen.reason).toMatchObject({ code: 'UNHANDLED_EVENT', state: 'a', eventType: 'unknown' });
  });

  it('from entry actions of the initial state run before the first message', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'insert-at-start',
      context: { log: [], data: 0 },
      entry: nextEvent({ type: 'first' }),
      on: { first: { actions: log }, second: { actions: log } },
    });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'second' });
    expect(logOf(node, pid)).toEqual(['first', 'second']);
  });
});

describe('postponed calls', () => {
  it('are replied to when finally handled', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    const first = node.call(pid, { type: 'ask', id: 1 }, { timeout: Infinity });
    const second = node.call(pid, { type: 'ask', id: 2 }, { timeout: Infinity });
    expect(sys.getStatus(node, pid).postponed).toBe(2);
    node.cast(pid, { type: 'open' });
    await expect(first).resolves.toBe('served 1');
    await expect(second).resolves.toBe('served 2');
    expect(logOf(node, pid)).toEqual(['ask:1', 'ask:2']);
  });

  it('whose caller died or gave up are still handled, and the reply is dropped', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, shop);
    const call = node.call(pid, { type: 'ask', id: 1 }, { timeout: 10 });
    clock.advance(10);
    await expect(call).rejects.toThrow();
    node.cast(pid, { type: 'open' });
    expect(logOf(node, pid)).toEqual(['ask:1']);
    expect(node.stats.lateReplies).toBe(1);
  });
});

describe('postpone overflow', () => {
  it('crashes the actor with PostponeOverflowError past maxPostponed', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop, { maxPostponed: 3 });
    const seen = watch(node, pid);
    for (const id of [1, 2, 3]) node.cast(pid, { type: 'job', id });
    expect(seen.down).toBe(false);
    node.cast(pid, { type: 'job', id: 4 });
    expect(seen.down).toBe(true);
    expect(seen.reason).toBeInstanceOf(PostponeOverflowError);
    expect(seen.reason).toMatchObject({ code: 'POSTPONE_OVERFLOW', limit: 3, pid });
    expect(node.isAlive(pid)).toBe(false);
  });

  it('with maxPostponed 0, the first event kept is a crash', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop, { maxPostponed: 0 });
    const seen = watch(node, pid);
    node.cast(pid, { type: 'job' });
    expect(seen.reason).toBeInstanceOf(PostponeOverflowError);
  });

  it('defaults to 10 000 kept events', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop);
    const seen = watch(node, pid);
    for (let i = 0; i < 10_000; i++) node.cast(pid, { type: 'job', id: i });
    expect(seen.down).toBe(false);
    node.cast(pid, { type: 'job', id: 10_000 });
    expect(seen.reason).toBeInstanceOf(PostponeOverflowError);
  });

  it('with maxPostponed Infinity keeps past the default limit', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, shop, { maxPostponed: Infinity });
    for (let i = 0; i <= 10_000; i++) node.cast(pid, { type: 'job', id: i });
    expect(node.isAlive(pid)).toBe(true);
    expect(sys.getStatus(node, pid).postponed).toBe(10_001);
  });

  it('refuses a maxPostponed that is not a whole number ≥ 0', () => {
    const { node } = simulatedNode();
    for (const maxPostponed of [-1, Number.NaN, 1.5, '3' as unknown as number]) {
      expect(() => spawnStatem(node, shop, { maxPostponed }), String(maxPostponed)).toThrow(TypeError);
    }
    expect(node.stats.processes).toBe(0);
  });
});

describe('postpone() with no event to postpone', () => {
  it('in the initial state’s entry actions is ignored and does not postpone the first message', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'postpone-at-start',
      context: { log: [], data: 0 },
      entry: postpone(),
      on: { job: { actions: log } },
    });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'job', id: 1 });
    expect(logOf(node, pid)).toEqual(['job:1']);
    expect(sys.getStatus(node, pid).postponed).toBe(0);
  });
});

describe('an event no state takes and none postpones', () => {
  /** `idle` takes `start`; `busy` takes `done` and postpones `start`. `work` is a parent that postpones `ping` for its children. */
  const worker = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
    id: 'worker',
    context: { log: [], data: 0 },
    initial: 'idle',
    states: {
      idle: { on: { start: { target: 'work', actions: log }, check: { guard: () => false, actions: log } } },
      work: {
        meta: { postpone: ['ping'] },
        initial: 'busy',
        states: { busy: { meta: { postpone: ['start'] }, on: { done: '#worker.idle' } } },
      },
    },
  });

  it('crashes the actor by default, with a reason naming the state and the event type, and nothing is kept', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'bogus' });
    expect(seen.down).toBe(true);
    expect(seen.reason).toBeInstanceOf(UnhandledEventError);
    expect(seen.reason).toMatchObject({ code: 'UNHANDLED_EVENT', machine: 'worker', state: 'idle', eventType: 'bogus', pid });
    expect(String((seen.reason as Error).message)).toMatch(/in state "idle" got "bogus"/);
  });

  it('crashes it too when the only transition for the event is guarded off (gen_statem: no clause matched)', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'check' });
    expect(seen.reason).toMatchObject({ code: 'UNHANDLED_EVENT', eventType: 'check' });
  });

  it('is postponed when the active state or any state around it declares it, and crashes elsewhere', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker);
    node.cast(pid, { type: 'start', id: 1 });
    node.cast(pid, { type: 'start', id: 2 }); // busy postpones start
    node.cast(pid, { type: 'ping' }); // work (the parent) postpones ping
    expect(sys.getStatus(node, pid).postponed).toBe(2);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'done' }); // idle takes start 2 (back to work), then ping is kept again there
    expect(logOf(node, pid)).toEqual(['start:1', 'start:2']);
    expect(seen.down).toBe(false);
    expect(sys.getStatus(node, pid).postponed).toBe(1);
    node.cast(pid, { type: 'done' }); // idle neither takes nor postpones the retried ping
    expect(seen.reason).toMatchObject({ code: 'UNHANDLED_EVENT', state: 'idle', eventType: 'ping' });
  });

  it("with unhandled: 'drop' is logged at warn with its type, counted, traced, and the actor carries on", () => {
    const warnings: unknown[] = [];
    const logger = { warn: (fields: unknown, message: string) => warnings.push({ fields, message }) };
    const node = createNode({ logger: logger as never });
    const pid = spawnStatem(node, worker, { unhandled: 'drop' });
    const trace: TraceEntry[] = [];
    sys.trace(node, pid, (entry) => trace.push(entry));
    node.cast(pid, { type: 'bogus' });
    node.cast(pid, { type: 'start', id: 1 });
    expect(node.isAlive(pid)).toBe(true);
    expect(logOf(node, pid)).toEqual(['start:1']);
    expect(sys.statistics(node, pid).unhandled).toBe(1);
    expect(sys.getStatus(node, pid).postponed).toBe(0);
    expect(warnings).toEqual([{ fields: expect.objectContaining({ eventType: 'bogus', state: 'idle', machine: 'worker' }), message: 'unhandled event dropped' }]);
    expect(trace.filter((t) => t.kind === 'drop')).toEqual([expect.objectContaining({ event: { type: 'bogus' } })]);
  });

  it('except an `after` whose guards all say no: the machine decided not to move, as in XState', () => {
    const machine = setup({ types: {} as { context: Ctx; events: Ev } }).createMachine({
      id: 'guarded-after',
      context: { log: [], data: 0 },
      initial: 'waiting',
      states: { waiting: { after: { 100: { guard: ({ context }) => context.data > 0, target: 'done' } }, on: { poke: { actions: log } } }, done: {} },
    });
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, machine);
    clock.advance(100);
    expect(node.isAlive(pid)).toBe(true);
    expect(stateOf(node, pid).value).toBe('waiting');
    node.cast(pid, { type: 'poke' });
    expect(logOf(node, pid)).toEqual(['poke']);
  });

  it('fails a call with the crash as the exit reason: the caller learns why', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker);
    await expect(node.call(pid, { type: 'bogus' })).rejects.toMatchObject({ code: 'CALL_EXIT', reason: expect.objectContaining({ code: 'UNHANDLED_EVENT' }) });
  });

  it('refuses at spawn a postpone declaration that is neither a list of types nor a function, and an unknown policy', () => {
    const { node } = simulatedNode();
    const bad = setup({}).createMachine({ id: 'bad', meta: { postpone: 'job' } });
    expect(() => spawnStatem(node, bad)).toThrow(/meta.postpone of state "bad" must be a list of event types/);
    expect(() => spawnStatem(node, worker, { unhandled: 'park' as never })).toThrow(TypeError);
    expect(node.stats.processes).toBe(0);
  });
});
