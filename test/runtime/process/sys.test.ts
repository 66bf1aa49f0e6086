import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import {
  CallTimeoutError,
  KILL,
  NoProcError,
  castTo,
  spawnStatem,
  startSupervisor,
  supervisor,
  sys,
  terminateChild,
  worker,
  reply,
  type Address,
  type TraceEntry,
} from '../../../src/index.ts';
import { simulatedNode, stateOf, watch } from '../statem/helpers.ts';

type Ev = { type: string; [key: string]: unknown };
type Ctx = { log: string[]; n: number; peer?: Address };

const note = assign<Ctx, Ev, undefined, Ev, never>({ log: ({ context, event }) => [...context.log, event.type] });

/** `idle` keeps `job`s for `working`, which has a 1 s state timeout back to idle and keeps idle's events. */
const worker1 = setup({ types: {} as { context: Ctx; events: Ev; input: { peer?: Address } | undefined } }).createMachine({
  id: 'worker1',
  context: ({ input }) => ({ log: [], n: 0, peer: input?.peer }),
  initial: 'idle',
  states: {
    idle: {
      meta: { postpone: ['job', 'bad'] },
      on: {
        start: 'working',
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        get: { actions: reply(({ context }) => context.n) },
        tell: { actions: castTo(({ context }) => context.peer ?? 'nobody', { type: 'inc' }) },
      },
    },
    working: {
      meta: { stateTimeout: { ms: 1_000, event: 'done' }, postpone: ['inc', 'get', 'tell'] },
      on: {
        job: { actions: note },
        done: { target: 'idle', actions: note },
        bad: {
          actions: () => {
            throw new Error('bad job');
          },
        },
      },
    },
  },
});

describe('get_state and get_status', () => {
  it('get_state gives { value, context }, by pid or by name', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1, { name: 'w' });
    node.cast(pid, { type: 'inc' });
    expect(sys.getState(node, pid)).toEqual({ value: 'idle', context: { log: [], n: 1, peer: undefined } });
    expect(sys.getState(node, 'w' as never)).toEqual(sys.getState(node, pid));
  });

  it('get_status describes the process: kind, name, links, monitors, timers, postponed, statistics', () => {
    const { node } = simulatedNode({ start: 100 });
    const parent = spawnStatem(node, worker1, { trapExit: true });
    const pid = spawnStatem(node, worker1, { name: 'w', link: parent });
    node.monitor(pid, () => {});
    node.cast(pid, { type: 'job' });
    node.cast(pid, { type: 'start' }); // the job is retried in working and handled
    node.cast(pid, { type: 'inc' }); // not taken in working: postponed
    expect(sys.getStatus(node, pid)).toEqual({
      pid,
      kind: 'statem',
      name: 'w',
      status: 'running',
      parent,
      state: { value: 'working', context: { log: ['job'], n: 0, peer: undefined } },
      stateValue: 'working',
      trapExit: false,
      links: [parent],
      monitoredBy: 1,
      timers: [{ name: 'state:worker1.working', kind: 'state', deadline: 1_100, event: { type: 'done' } }],
      postponed: 1,
      statistics: { messagesIn: 3, messagesOut: 0, mailboxLength: 0, restarts: 0, unhandled: 0 },
    });
    expect(sys.getStatus(node, parent).trapExit).toBe(true);
  });

  it('every sys call on a dead or unknown process throws NoProcError', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    node.exit(pid, KILL);
    const calls = [
      () => sys.getState(node, pid),
      () => sys.getStatus(node, pid),
      () => sys.statistics(node, pid),
      () => sys.suspend(node, pid),
      () => sys.resume(node, pid),
      () => sys.trace(node, pid, () => {}),
      () => sys.replaceState(node, pid, (s) => s),
      () => sys.tree(node, pid),
      () => sys.getState(node, 'nobody' as never),
    ];
    for (const call of calls) expect(call).toThrow(NoProcError);
  });
});

describe('replace_state', () => {
  it('replaces the context alone: no state change, postponed events stay, timers keep their deadlines', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    node.cast(pid, { type: 'start' });
    node.cast(pid, { type: 'inc' }); // postponed in working
    clock.advance(400);
    const trace: TraceEntry[] = [];
    sys.trace(node, pid, (entry) => trace.push(entry));
    const result = sys.replaceState(node, pid, ({ context }) => ({ context: { ...(context as Ctx), n: 41 } }));
    expect(result).toEqual({ value: 'working', context: { log: [], n: 41, peer: undefined } });
    expect(sys.getStatus(node, pid).postponed).toBe(1);
    // Not retried: a retry in `working` would have postponed the `inc` once more.
    expect(trace).toEqual([]);
    expect(sys.getStatus(node, pid).timers).toEqual([expect.objectContaining({ deadline: 1_000 })]);
  });

  it('a new state value cancels the old state’s timeout, arms the new one’s from now, and replays postponed events', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    node.cast(pid, { type: 'job' }); // postponed in idle
    clock.advance(300);
    sys.replaceState(node, pid, () => ({ value: 'working' }));
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['job']); // replayed in working
    expect(sys.getStatus(node, pid).timers).toEqual([expect.objectContaining({ kind: 'state', deadline: 1_300 })]);

    node.cast(pid, { type: 'inc' }); // postponed in working
    sys.replaceState(node, pid, () => ({ value: 'idle' }));
    expect(sys.getStatus(node, pid).timers).toEqual([]);
    expect(stateOf<Ctx>(node, pid).context.n).toBe(1);
    clock.advance(10_000);
    expect(stateOf(node, pid).value).toBe('idle');
  });

  it('refuses a state value the machine does not have, and leaves the state as it was', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    expect(() => sys.replaceState(node, pid, () => ({ value: 'no-such-state' }))).toThrow();
    expect(stateOf(node, pid).value).toBe('idle');
    expect(node.isAlive(pid)).toBe(true);
  });

  it('a state function that throws changes nothing; the caller gets the error', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    expect(() =>
      sys.replaceState(node, pid, () => {
        throw new Error('bad fun');
      }),
    ).toThrow('bad fun');
    expect(stateOf<Ctx>(node, pid).context.n).toBe(0);
    expect(node.isAlive(pid)).toBe(true);
  });

  it('a replayed event that crashes the actor ends it with that reason (it does not stay half-alive)', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'bad' }); // postponed in idle
    const result = sys.replaceState(node, pid, () => ({ value: 'working' }));
    expect(result.value).toBe('working');
    expect(seen.down).toBe(true);
    expect((seen.reason as Error).message).toBe('bad job');
    expect(node.isAlive(pid)).toBe(false);
  });

  it('on a suspended actor, replays postponed events only when it is resumed', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    node.cast(pid, { type: 'job' });
    sys.suspend(node, pid);
    sys.replaceState(node, pid, () => ({ value: 'working' }));
    expect(stateOf<Ctx>(node, pid).context.log).toEqual([]);
    sys.resume(node, pid);
    expect(stateOf<Ctx>(node, pid).context.log).toEqual(['job']);
  });

  it('is refused for a process that is not a gen_statem actor', () => {
    const { node } = simulatedNode();
    const sup = startSupervisor(node, { children: [] });
    expect(() => sys.replaceState(node, sup, (s) => s)).toThrow(TypeError);
  });
});

describe('replace_state with a declarative change (sys.changeState)', () => {
  const codeOf = (run: () => unknown): string | undefined => {
    try {
      run();
      return undefined;
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    }
  };

  it('patches the context and sets a state value, as replaceState would', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    node.cast(pid, { type: 'job' }); // postponed in idle
    const result = sys.changeState(node, pid, { patch: [{ op: 'test', path: '/n', value: 0 }, { op: 'replace', path: '/n', value: 41 }, { op: 'add', path: '/log/-', value: 'x' }], value: 'working' });
    expect(result.value).toBe('working');
    expect(result.context).toEqual({ log: ['x', 'job'], n: 41 }); // the postponed job replayed in working
  });

  it.each([
    ['a failing test op', { patch: [{ op: 'replace', path: '/n', value: 7 }, { op: 'test', path: '/n', value: 99 }] }, 'PATCH_TEST_FAILED'],
    ['a remove of a missing path', { patch: [{ op: 'replace', path: '/n', value: 7 }, { op: 'remove', path: '/missing' }] }, 'PATCH_PATH_NOT_FOUND'],
    ['a prototype path', { patch: [{ op: 'add', path: '/__proto__/polluted', value: true }] }, 'PATCH_FORBIDDEN_PATH'],
    ['a constructor path', { patch: [{ op: 'add', path: '/constructor/prototype/polluted', value: true }] }, 'PATCH_FORBIDDEN_PATH'],
    ['a __proto__ member in a value', { patch: [{ op: 'add', path: '/x', value: JSON.parse('{"__proto__":{"polluted":true}}') }] }, 'STATE_CHANGE_INVALID'],
    ['a state value the machine does not have', { patch: [{ op: 'replace', path: '/n', value: 7 }], value: 'no-such-state' }, 'STATE_VALUE_UNKNOWN'],
    ['a context that is no longer an object', { patch: [{ op: 'replace', path: '', value: 3 }] }, 'PATCH_INVALID'],
    ['a context over the size limit', { patch: [{ op: 'add', path: '/big', value: 'x'.repeat(1_100_000) }] }, 'STATE_TOO_LARGE'],
    ['a value that is not JSON data', { patch: [{ op: 'add', path: '/d', value: new Date(0) }] }, 'STATE_CHANGE_INVALID'],
    ['an unknown member', { patch: [], run: 'x' }, 'STATE_CHANGE_INVALID'],
    ['an empty change', {}, 'STATE_CHANGE_INVALID'],
    ['a function', () => ({ value: 'working' }), 'STATE_CHANGE_NOT_DATA'],
    ['source text', "(s) => ({ value: 'working' })", 'STATE_CHANGE_NOT_DATA'],
  ])('%s is refused and nothing changes', (_name, change, code) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    node.cast(pid, { type: 'inc' });
    const before = sys.getState(node, pid);
    expect(codeOf(() => sys.changeState(node, pid, change))).toBe(code);
    expect(sys.getState(node, pid)).toEqual(before);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(node.isAlive(pid)).toBe(true);
  });

  it('refuses to patch a context that is not JSON data, and says so', () => {
    const { node } = simulatedNode();
    const machine = setup({ types: {} as { context: { at: Date } } }).createMachine({ id: 'dated', context: { at: new Date(0) }, initial: 'a', states: { a: {}, b: {} } });
    const pid = spawnStatem(node, machine);
    expect(codeOf(() => sys.changeState(node, pid, { patch: [{ op: 'add', path: '/x', value: 1 }] }))).toBe('STATE_CONTEXT_NOT_JSON');
    // A state value alone does not touch the context, so it still works.
    expect(sys.changeState(node, pid, { value: 'b' }).value).toBe('b');
  });
});

describe('suspend and resume', () => {
  it('a suspended actor queues messages (the mailbox grows) and handles them in order on resume', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    sys.suspend(node, pid);
    expect(sys.getStatus(node, pid).status).toBe('suspended');
    for (let i = 0; i < 5; i++) node.cast(pid, { type: 'inc' });
    node.cast(pid, { type: 'start' });
    node.cast(pid, { type: 'job' });
    expect(sys.statistics(node, pid)).toMatchObject({ mailboxLength: 7, messagesIn: 0 });
    expect(stateOf<Ctx>(node, pid).context.n).toBe(0);
    sys.resume(node, pid);
    expect(sys.getStatus(node, pid).status).toBe('running');
    expect(sys.statistics(node, pid)).toMatchObject({ mailboxLength: 0, messagesIn: 7 });
    expect(stateOf<Ctx>(node, pid)).toMatchObject({ value: 'working', context: { n: 5, log: ['job'] } });
  });

  it('timers that fall due while suspended wait in the mailbox too', () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    node.cast(pid, { type: 'start' });
    sys.suspend(node, pid);
    clock.advance(1_000);
    expect(stateOf(node, pid).value).toBe('working');
    expect(sys.statistics(node, pid).mailboxLength).toBe(1);
    sys.resume(node, pid);
    expect(stateOf(node, pid).value).toBe('idle');
  });

  it('a call to a suspended actor times out; resumed, it replies late and the reply is dropped', async () => {
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    sys.suspend(node, pid);
    const call = node.call(pid, { type: 'get' }, { timeout: 100 });
    clock.advance(100);
    await expect(call).rejects.toBeInstanceOf(CallTimeoutError);
    sys.resume(node, pid);
    expect(node.stats.lateReplies).toBe(1);
  });

  it('suspend twice and resume once resumes (no nesting), resume of a running actor is harmless', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    sys.resume(node, pid);
    sys.suspend(node, pid);
    sys.suspend(node, pid);
    node.cast(pid, { type: 'inc' });
    sys.resume(node, pid);
    expect(stateOf<Ctx>(node, pid).context.n).toBe(1);
  });

  it('a suspended actor still dies from exit signals', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    sys.suspend(node, pid);
    const seen = watch(node, pid);
    node.exit(pid, 'shutdown');
    expect(seen.reason).toBe('shutdown');
  });
});

describe('trace', () => {
  it('records events in (with how they came), messages and replies out, transitions, postpones and the exit', async () => {
    const { node, clock } = simulatedNode();
    const peer = spawnStatem(node, worker1);
    const pid = spawnStatem(node, worker1, { input: { peer } });
    const entries: TraceEntry[] = [];
    sys.trace(node, pid, (entry) => entries.push(entry));
    node.cast(pid, { type: 'tell' });
    node.send(pid, { type: 'start' });
    node.cast(pid, { type: 'inc' });
    clock.advance(1_000);
    await node.call(pid, { type: 'get' });
    node.exit(pid, 'shutdown');
    expect(entries.map(({ pid: p, ...rest }) => (expect(p).toBe(pid), rest))).toEqual([
      { at: 0, kind: 'in', via: 'cast', event: { type: 'tell' } },
      { at: 0, kind: 'out', to: peer, event: { type: 'inc' } },
      { at: 0, kind: 'in', via: 'info', event: { type: 'start' } },
      { at: 0, kind: 'transition', from: 'idle', to: 'working', event: { type: 'start' } },
      { at: 0, kind: 'in', via: 'cast', event: { type: 'inc' } },
      { at: 0, kind: 'postpone', event: { type: 'inc' } },
      { at: 1_000, kind: 'in', via: 'state_timeout', event: { type: 'done' } },
      { at: 1_000, kind: 'transition', from: 'working', to: 'idle', event: { type: 'done' } },
      { at: 1_000, kind: 'in', via: 'call', event: { type: 'get' } },
      // The reply goes out to the caller (its pending call's ref), as gen_statem's {out, Reply, From}.
      { at: 1_000, kind: 'out', to: { node: node.name, ref: expect.any(String) }, reply: 1 },
      { at: 1_000, kind: 'exit', reason: 'shutdown' },
    ]);
    // The retried `inc` was handled after the transition back to idle.
    expect(sys.getStatus(node, peer).state).toMatchObject({ context: { n: 1 } });
  });

  it('trace(false) stops tracing', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    const entries: TraceEntry[] = [];
    sys.trace(node, pid, (entry) => entries.push(entry));
    node.cast(pid, { type: 'inc' });
    sys.trace(node, pid, false);
    node.cast(pid, { type: 'inc' });
    expect(entries).toHaveLength(1);
  });
});

describe('statistics', () => {
  it('counts messages in and out and the mailbox length', () => {
    const { node } = simulatedNode();
    const peer = spawnStatem(node, worker1);
    const pid = spawnStatem(node, worker1, { input: { peer } });
    for (let i = 0; i < 3; i++) node.cast(pid, { type: 'tell' });
    expect(sys.statistics(node, pid)).toEqual({ messagesIn: 3, messagesOut: 3, mailboxLength: 0, restarts: 0, unhandled: 0 });
    expect(sys.statistics(node, peer)).toEqual({ messagesIn: 3, messagesOut: 0, mailboxLength: 0, restarts: 0, unhandled: 0 });
  });

  it('counts restarts of a supervised child', async () => {
    const { node } = simulatedNode();
    startSupervisor(node, { intensity: 5, children: [worker('w', worker1, { name: 'w' })] });
    node.cast('w', { type: 'start' });
    node.cast('w', { type: 'bad' });
    await node.settle();
    expect(sys.statistics(node, node.whereis('w')!).restarts).toBe(1);
  });
});

describe('tree', () => {
  it('lists every supervisor and child, nested, with kinds and state values', async () => {
    const { node } = simulatedNode();
    const top = startSupervisor(
      node,
      {
        strategy: 'one_for_one',
        children: [
          worker('front', worker1, { name: 'front' }),
          supervisor('inner', { strategy: 'rest_for_one', children: [worker('a', worker1), worker('b', worker1)] }),
          worker('spare', worker1, { restart: 'transient' }),
        ],
      },
      { name: 'top' },
    );
    node.cast('front', { type: 'start' });
    await terminateChild(node, top, 'spare');
    const tree = sys.tree(node, top);
    expect(tree).toMatchObject({
      id: 'top',
      pid: top,
      kind: 'supervisor',
      name: 'top',
      stateValue: 'one_for_one',
      children: [
        { id: 'front', kind: 'statem', name: 'front', stateValue: 'working' },
        {
          id: 'inner',
          kind: 'supervisor',
          stateValue: 'rest_for_one',
          children: [
            { id: 'a', kind: 'statem', stateValue: 'idle' },
            { id: 'b', kind: 'statem', stateValue: 'idle' },
          ],
        },
        { id: 'spare', pid: undefined, kind: 'not_running' },
      ],
    });
    expect(tree.children![0]!.pid).toBe(node.whereis('front'));
  });

  it('from a worker is the worker alone', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, worker1);
    expect(sys.tree(node, pid)).toEqual({ id: pid, pid, kind: 'statem', name: undefined, stateValue: 'idle' });
  });
});
