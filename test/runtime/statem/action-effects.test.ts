/**
 * What a step's actions do beyond the state: the timers they set (and how a timer's event comes
 * in), the messages and calls they send (counted and traced), the records they write, and the
 * actions the runtime leaves to XState or to nobody.
 */
import { describe, expect, it } from 'vitest';
import { assign, emit, setup } from 'xstate';
import {
  callTo,
  cancelTimer,
  castTo,
  eventTimeout,
  postpone,
  putRecord,
  replyTo,
  sendInfo,
  spawnStatem,
  startTimer,
  stateTimeout,
  sys,
  updateStateTimeout,
  updateTimer,
  type Pid,
  type TraceEntry,
} from '../../../src/index.ts';
import { flush, simulatedNode, stateOf, watch } from './helpers.ts';

type Ev = { type: string; [key: string]: unknown };
type Log = { got: string[] };

const record = assign<Log, Ev, undefined, Ev, never>({ got: ({ context, event }) => [...context.got, event.type] });

describe('a timer’s event comes in as a timeout of its kind', () => {
  const timers = setup({ types: {} as { context: Log; events: Ev } }).createMachine({
    id: 'timers',
    context: { got: [] },
    on: {
      generic: { actions: startTimer('g', 10, { type: 'tick' }) },
      event: { actions: eventTimeout(10, { type: 'tick' }) },
      state: { actions: stateTimeout(10, { type: 'tick' }) },
      updateGeneric: { actions: updateTimer('none', { type: 'tick' }) },
      updateState: { actions: updateStateTimeout({ type: 'tick' }) },
      tick: { actions: record },
    },
  });

  it.each([
    ['startTimer', 'generic', 'generic_timeout'],
    ['eventTimeout', 'event', 'event_timeout'],
    ['stateTimeout', 'state', 'state_timeout'],
    ['updateTimer with none running', 'updateGeneric', 'generic_timeout'],
    ['updateStateTimeout with none running', 'updateState', 'state_timeout'],
  ])('%s: traced as %s', (_label, type, via) => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, timers);
    const entries: TraceEntry[] = [];
    sys.trace(node, pid, (entry) => entries.push(entry));
    node.cast(pid, { type });
    clock.advance(10);
    expect(entries.filter((e) => e.kind === 'in').map((e) => (e as { via: string }).via)).toEqual(['cast', via]);
    expect(stateOf<Log>(node, pid).context.got).toEqual(['tick']);
  });

  it('persisted with its kind while it runs', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, timers);
    node.cast(pid, { type: 'generic' });
    node.cast(pid, { type: 'state' });
    node.cast(pid, { type: 'event' });
    expect(sys.getStatus(node, pid).timers.map((t) => [t.name, t.kind])).toEqual([
      ['generic:g', 'generic'],
      ['state', 'state'],
      ['event', 'event'],
    ]);
  });
});

/** Answers `ask` later: keeps the caller, replies on `answer`. */
const callee = setup({ types: {} as { context: { from: unknown }; events: Ev } }).createMachine({
  id: 'callee',
  context: { from: undefined },
  on: {
    ask: { actions: assign({ from: ({ event }) => event.$from }) },
    answer: { actions: replyTo(({ context }) => context.from, 42) },
  },
});

let made: unknown[] = [];
const caller = setup({ types: {} as { context: Log & { to: Pid }; events: Ev; input: { to: Pid } } }).createMachine({
  id: 'caller',
  context: ({ input }) => ({ got: [], to: input.to }),
  on: {
    go: {
      actions: callTo(({ context }) => context.to, { type: 'ask' }, {
        timeout: Infinity,
        onReply: (value) => (made.push(value), { type: 'answered' }),
        onError: (error) => (made.push(error), { type: 'failed' }),
      }),
    },
    tell: { actions: [castTo(({ context }) => context.to, { type: 'noop' }), sendInfo(({ context }) => context.to, { type: 'noop' })] },
  },
});

describe('messages and calls an actor sends', () => {
  it('are counted as messages out and traced, a callTo as much as a cast or an info', () => {
    const { node } = simulatedNode();
    const to = spawnStatem(node, callee, { unhandled: 'drop' });
    const pid = spawnStatem(node, caller, { input: { to } });
    const entries: TraceEntry[] = [];
    sys.trace(node, pid, (entry) => entries.push(entry));
    node.cast(pid, { type: 'tell' });
    node.cast(pid, { type: 'go' });
    expect(sys.statistics(node, pid).messagesOut).toBe(3);
    expect(entries.filter((e) => e.kind === 'out')).toEqual([
      expect.objectContaining({ kind: 'out', to, event: { type: 'noop' } }),
      expect.objectContaining({ kind: 'out', to, event: { type: 'noop' } }),
      expect.objectContaining({ kind: 'out', to, event: { type: 'ask' } }),
    ]);
  });

  it('a callTo answered after its caller exited runs none of the caller’s code and sends nothing', async () => {
    made = [];
    const { node } = simulatedNode();
    const to = spawnStatem(node, callee);
    const pid = spawnStatem(node, caller, { input: { to } });
    node.cast(pid, { type: 'go' });
    node.exit(pid, 'kill');
    const undelivered = node.stats.undelivered;
    node.cast(to, { type: 'answer' });
    await flush();
    expect(made).toEqual([]);
    expect(node.stats.undelivered).toBe(undelivered);
  });
});

describe('putRecord', () => {
  const writer = setup({ types: {} as { events: Ev } }).createMachine({
    id: 'writer',
    on: {
      put: { actions: putRecord(({ event }) => event.key as string, 1) },
    },
  });

  it.each([
    ['an empty key', ''],
    ['a key that is not a string', 42],
  ])('with %s crashes the actor with a TypeError', (_label, key) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, writer);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'put', key });
    expect(seen.reason).toBeInstanceOf(TypeError);
    expect((seen.reason as Error).message).toBe('putRecord: the key must be a non-empty string');
  });
});

describe('actions the runtime leaves alone', () => {
  it('an event the machine emits for itself (XState emit) is no effect: the actor carries on', () => {
    const { node } = simulatedNode();
    const machine = setup({ types: {} as { context: Log; events: Ev; emitted: Ev } }).createMachine({
      id: 'emitter',
      context: { got: [] },
      on: { shout: { actions: [emit({ type: 'shouted' }), record] } },
    });
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'shout' });
    expect(node.isAlive(pid)).toBe(true);
    expect(stateOf<Log>(node, pid).context.got).toEqual(['shout']);
  });

  it('an action named without an implementation is skipped, as XState skips it', () => {
    const { node } = simulatedNode();
    const machine = setup({ types: {} as { context: Log; events: Ev } }).createMachine({
      id: 'unimplemented',
      context: { got: [] },
      on: { go: { actions: ['notImplemented' as never, record] } },
    });
    const pid = spawnStatem(node, machine);
    node.cast(pid, { type: 'go' });
    expect(node.isAlive(pid)).toBe(true);
    expect(stateOf<Log>(node, pid).context.got).toEqual(['go']);
  });

  it("an event dropped by unhandled: 'drop' needs no tracer", () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, callee, { unhandled: 'drop' });
    node.cast(pid, { type: 'nobody-takes-this' });
    expect(node.isAlive(pid)).toBe(true);
    expect(sys.statistics(node, pid).unhandled).toBe(1);
  });
});

describe('postponed events retried by a state change', () => {
  const gate = setup({ types: {} as { context: Log; events: Ev } }).createMachine({
    id: 'gate',
    context: { got: [] },
    initial: 'closed',
    states: {
      closed: { on: { open: 'open', item: { actions: postpone() } } },
      open: { on: { item: { actions: record } } },
    },
  });

  it('are all handled before the message that changed the state is done', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, gate);
    node.cast(pid, { type: 'item', n: 1 });
    node.cast(pid, { type: 'item', n: 2 });
    node.cast(pid, { type: 'open' });
    expect(stateOf<Log>(node, pid).context.got).toEqual(['item', 'item']);
    expect(sys.getStatus(node, pid).postponed).toBe(0);
  });
});

describe('timer times an action gets wrong', () => {
  const timed = setup({ types: {} as { events: Ev } }).createMachine({
    id: 'timed',
    on: {
      rel: { actions: startTimer('t', ({ event }) => event.ms as number, { type: 'tick' }) },
      abs: { actions: startTimer('t', ({ event }) => event.ms as number, { type: 'tick' }, { abs: true }) },
      tick: {},
      cancel: { actions: cancelTimer('t') },
    },
  });

  it.each([
    ['rel', -1, 'startTimer: ms must be a number ≥ 0 or Infinity, got -1'],
    ['abs', 'soon', 'startTimer: an absolute time must be a number (epoch ms) or Infinity, got soon'],
  ])('%s %s: the actor crashes with a TypeError saying what a time is', (type, ms, message) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, timed);
    const seen = watch(node, pid);
    node.cast(pid, { type, ms });
    expect(seen.reason).toBeInstanceOf(TypeError);
    expect((seen.reason as Error).message).toBe(message);
  });

  it('a cancelled timer leaves nothing on the clock', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, timed);
    node.cast(pid, { type: 'rel', ms: 1_000 });
    expect(clock.pending).toBe(1);
    node.cast(pid, { type: 'cancel' });
    expect(clock.pending).toBe(0);
  });
});

describe('the unhandled option', () => {
  it("takes 'crash' (the default) and 'drop', and refuses anything else, saying so", () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, callee, { unhandled: 'crash' });
    const seen = watch(node, pid);
    node.cast(pid, { type: 'nobody-takes-this' });
    expect(seen.down).toBe(true);
    expect(() => spawnStatem(node, callee, { unhandled: 'ignore' as never })).toThrow(new TypeError(`unhandled must be 'crash' or 'drop', got "ignore"`));
  });
});

describe('callTo without a timeout', () => {
  it('waits 5 s for the reply, then the error comes back as the onError event', async () => {
    const { node, clock } = simulatedNode();
    const to = spawnStatem(node, callee);
    const patient = setup({ types: {} as { context: Log; events: Ev } }).createMachine({
      id: 'patient',
      context: { got: [] },
      on: {
        go: { actions: callTo(to, { type: 'ask' }, { onReply: () => ({ type: 'answered' }), onError: () => ({ type: 'failed' }) }) },
        failed: { actions: record },
      },
    });
    const pid = spawnStatem(node, patient);
    node.cast(pid, { type: 'go' });
    clock.advance(4_999);
    await flush();
    expect(stateOf<Log>(node, pid).context.got).toEqual([]);
    clock.advance(1);
    await flush();
    expect(stateOf<Log>(node, pid).context.got).toEqual(['failed']);
  });
});
