import { describe, expect, it } from 'vitest';
import { assign, createActor, createMachine, forwardTo, fromCallback, fromPromise, sendParent, sendTo, setup, spawnChild, stopChild, type AnyStateMachine } from 'xstate';
import {
  NoProcError,
  StartError,
  StopExitError,
  TERMINATE_EVENT,
  UnsupportedMachineFeatureError,
  replyTo,
  sendInfo,
  stopProcess,
  nextEvent,
  reply,
  spawnStatem,
  stop,
  sys,
  type ExitReason,
  type Pid,
} from '../../../src/index.ts';
import { simulatedNode, stateOf, watch } from './helpers.ts';

type Ev = { type: string; [key: string]: unknown };

const actionError = new Error('action failed');
const guardError = new Error('guard failed');
const assignError = new Error('assign failed');
const entryError = new Error('entry failed');
const exitError = new Error('exit failed');

/** One way to crash per event. */
const fragile = setup({ types: {} as { context: { n: number }; events: Ev } }).createMachine({
  id: 'fragile',
  context: { n: 0 },
  initial: 'up',
  states: {
    up: {
      exit: ({ event }) => {
        if (event.type === 'leaveBadly') throw exitError;
      },
      on: {
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        get: { actions: reply(({ context }) => context.n) },
        action: {
          actions: () => {
            throw actionError;
          },
        },
        guard: {
          guard: () => {
            throw guardError;
          },
          target: 'down',
        },
        assign: {
          actions: assign(() => {
            throw assignError;
          }),
        },
        enterBadly: 'bad',
        leaveBadly: 'down',
        throwString: {
          actions: () => {
            throw 'a string, not an Error';
          },
        },
        throwObject: {
          actions: () => {
            throw { code: 42 };
          },
        },
        finish: 'done',
        stopWith: { actions: stop(({ event }: { event: Ev }) => event.reason as ExitReason) },
        stopDefault: { actions: stop() },
        replyAndStop: { actions: [reply('bye'), stop('normal')] },
      },
    },
    bad: {
      entry: () => {
        throw entryError;
      },
    },
    down: {},
    done: { type: 'final' },
  },
});

/** Traps exits and records every EXIT and DOWN it receives. */
const trapper = setup({ types: {} as { context: { got: Ev[] }; events: Ev } }).createMachine({
  id: 'trapper',
  context: { got: [] },
  on: {
    EXIT: { actions: assign({ got: ({ context, event }) => [...context.got, event] }) },
    DOWN: { actions: assign({ got: ({ context, event }) => [...context.got, event] }) },
  },
});

function crash(event: Ev): { reason: ExitReason; pid: Pid; node: ReturnType<typeof simulatedNode>['node'] } {
  const { node } = simulatedNode();
  const pid = spawnStatem(node, fragile);
  const seen = watch(node, pid);
  node.cast(pid, event);
  expect(seen.down, `${event.type} should end the actor`).toBe(true);
  expect(node.isAlive(pid)).toBe(false);
  return { reason: seen.reason, pid, node };
}

describe('a crash ends the actor with the thrown value as its exit reason', () => {
  it.each([
    ['action', actionError],
    ['assign', assignError],
    ['enterBadly', entryError],
    ['leaveBadly', exitError],
  ])('a throwing %s', (type, error) => {
    expect(crash({ type }).reason).toBe(error);
  });

  it('a throwing guard (XState rewraps it: the reason is its Error, carrying the guard’s message)', () => {
    // XState catches a guard's throw and throws `new Error("Unable to evaluate guard …:\n<message>")`
    // without the original as `cause`, so the original object cannot be the reason.
    const { reason } = crash({ type: 'guard' });
    expect(reason).toBeInstanceOf(Error);
    expect((reason as Error).message).toMatch(/Unable to evaluate guard[\s\S]*guard failed/);
  });

  it('a thrown non-Error value is the reason as it is', () => {
    expect(crash({ type: 'throwString' }).reason).toBe('a string, not an Error');
    expect(crash({ type: 'throwObject' }).reason).toEqual({ code: 42 });
  });

  it('a linked process that traps exits gets {type: EXIT, from, reason}', () => {
    const { node } = simulatedNode();
    const watcher = spawnStatem(node, trapper, { trapExit: true });
    const pid = spawnStatem(node, fragile);
    node.link(watcher, pid);
    node.cast(pid, { type: 'action' });
    expect(stateOf<{ got: Ev[] }>(node, watcher).context.got).toEqual([{ type: 'EXIT', from: pid, reason: actionError }]);
  });

  it('a linked process that does not trap exits dies with the same reason', () => {
    const { node } = simulatedNode();
    const partner = spawnStatem(node, fragile);
    const pid = spawnStatem(node, fragile);
    node.link(partner, pid);
    const seen = watch(node, partner);
    node.cast(pid, { type: 'action' });
    expect(seen.reason).toBe(actionError);
  });

  it('the node keeps running and other actors are unaffected', async () => {
    const { node, clock } = simulatedNode();
    const bystander = spawnStatem(node, fragile, { name: 'bystander' });
    node.cast(bystander, { type: 'inc' });
    for (const type of ['action', 'guard', 'assign', 'enterBadly', 'leaveBadly']) {
      const victim = spawnStatem(node, fragile);
      node.cast(victim, { type });
      expect(node.isAlive(victim)).toBe(false);
    }
    node.cast(bystander, { type: 'inc' });
    await expect(node.call('bystander', { type: 'get' })).resolves.toBe(2);
    expect(node.stats.processes).toBe(1);
    expect(node.stats.exited).toBe(5);
    expect(clock.pending).toBe(0);
  });

  it('frees the crashed actor’s name and timers', () => {
    const withTimer = setup({}).createMachine({
      id: 'with-timer',
      initial: 'a',
      states: {
        a: {
          meta: { stateTimeout: { ms: 1_000, event: 'late' } },
          on: {
            boom: {
              actions: () => {
                throw new Error('x');
              },
            },
          },
        },
      },
    });
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, withTimer, { name: 'named' });
    expect(clock.pending).toBe(1);
    node.cast('named', { type: 'boom' });
    expect(node.whereis('named')).toBeUndefined();
    expect(clock.pending).toBe(0);
    expect(node.isAlive(pid)).toBe(false);
    expect(node.isAlive(spawnStatem(node, withTimer, { name: 'named' }))).toBe(true);
  });

  it('a crash on an event fired by a timer is a crash like any other', () => {
    const machine = setup({}).createMachine({
      id: 'timer-crash',
      initial: 'a',
      states: {
        a: {
          meta: { stateTimeout: { ms: 10, event: 'tick' } },
          on: {
            tick: {
              actions: () => {
                throw new Error('tick failed');
              },
            },
          },
        },
      },
    });
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, machine);
    const seen = watch(node, pid);
    clock.advance(10);
    expect((seen.reason as Error).message).toBe('tick failed');
  });
});

describe('ending normally', () => {
  it('a final state ends the actor with reason normal', () => {
    const { reason } = crash({ type: 'finish' });
    expect(reason).toBe('normal');
  });

  it('normal does not take down a linked process that does not trap exits', () => {
    const { node } = simulatedNode();
    const partner = spawnStatem(node, fragile);
    const pid = spawnStatem(node, fragile);
    node.link(partner, pid);
    node.cast(pid, { type: 'finish' });
    expect(node.isAlive(pid)).toBe(false);
    expect(node.isAlive(partner)).toBe(true);
  });

  it('a trapping linked process hears about the normal exit', () => {
    const { node } = simulatedNode();
    const watcher = spawnStatem(node, trapper, { trapExit: true });
    const pid = spawnStatem(node, fragile);
    node.link(watcher, pid);
    node.cast(pid, { type: 'finish' });
    expect(stateOf<{ got: Ev[] }>(node, watcher).context.got).toEqual([{ type: 'EXIT', from: pid, reason: 'normal' }]);
  });

  it('stop(reason) ends the actor with that reason once the event is handled', () => {
    for (const reason of ['normal', 'shutdown', { shutdown: 'done' }, new Error('asked to stop'), 'custom']) {
      expect(crash({ type: 'stopWith', reason }).reason).toEqual(reason);
    }
    expect(crash({ type: 'stopDefault' }).reason).toBe('normal');
  });

  it('a reply before stop reaches the caller (stop_and_reply)', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, fragile);
    await expect(node.call(pid, { type: 'replyAndStop' })).resolves.toBe('bye');
    expect(node.isAlive(pid)).toBe(false);
  });
});

describe('stopProcess (gen_statem:stop)', () => {
  type Closing = { context: { seen: string[]; saved?: unknown }; events: Ev };
  /** Records what it handles; its terminate handler tells `watcher` the reason and answers a saved caller. */
  const closing = setup({ types: {} as Closing }).createMachine({
    id: 'closing',
    context: { seen: [] },
    initial: 'open',
    states: {
      open: {
        on: {
          work: { actions: assign({ seen: ({ context, event }) => [...context.seen, String(event.n)] }) },
          hold: { actions: assign({ saved: ({ event }) => event.$from }) },
          [TERMINATE_EVENT]: {
            actions: [
              sendInfo('watcher', ({ context, event }) => ({ type: 'closed', reason: event.reason, seen: context.seen })),
              replyTo(({ context }) => context.saved, 'closing down'),
            ],
          },
        },
      },
    },
  });

  it('handles what was sent before, runs the terminate handler with the reason, and resolves once the actor has exited', async () => {
    const { node } = simulatedNode();
    const inbox: Ev[] = [];
    const listener = setup({ types: {} as { events: Ev } }).createMachine({ id: 'listener', on: { closed: { actions: ({ event }) => inbox.push(event) } } });
    spawnStatem(node, listener, { name: 'watcher' });
    const pid = spawnStatem(node, closing, { name: 'closer' });
    const seen = watch(node, pid);
    sys.suspend(node, pid); // so that everything below queues up in order
    node.cast(pid, { type: 'work', n: 1 });
    const held = node.call(pid, { type: 'hold' }, { timeout: Infinity });
    const stopping = stopProcess(node, 'closer', { shutdown: 'bye' });
    node.cast(pid, { type: 'work', n: 2 }); // after the stop request: never handled
    sys.resume(node, pid);
    await stopping;
    expect(seen.reason).toEqual({ shutdown: 'bye' });
    expect(inbox).toEqual([{ type: 'closed', reason: { shutdown: 'bye' }, seen: ['1'] }]);
    await expect(held).resolves.toBe('closing down'); // a saved caller answered from the terminate handler
  });

  it('rejects with NoProcError for a process that does not exist, StopExitError when the terminate handler crashes', async () => {
    const { node } = simulatedNode();
    await expect(stopProcess(node, 'nobody')).rejects.toBeInstanceOf(NoProcError);
    const failure = new Error('cannot close');
    const broken = createMachine({
      id: 'broken-terminate',
      on: {
        [TERMINATE_EVENT]: {
          actions: () => {
            throw failure;
          },
        },
      },
    });
    const pid = spawnStatem(node, broken);
    const seen = watch(node, pid);
    const stopping = stopProcess(node, pid, 'normal');
    await expect(stopping).rejects.toBeInstanceOf(StopExitError);
    await expect(stopping).rejects.toMatchObject({ code: 'STOP_EXIT', reason: failure });
    expect(seen.reason).toBe(failure);
  });

  it('exits with the error when the terminate handler’s own transition fails (an assign that throws), not with the reason asked', async () => {
    const { node } = simulatedNode();
    const failure = new Error('cannot compute the goodbye');
    const broken = createMachine({
      id: 'broken-terminate-assign',
      context: { n: 0 },
      on: {
        [TERMINATE_EVENT]: {
          actions: assign(() => {
            throw failure;
          }),
        },
      },
    });
    const pid = spawnStatem(node, broken);
    const seen = watch(node, pid);
    await expect(stopProcess(node, pid, 'normal')).rejects.toMatchObject({ code: 'STOP_EXIT', reason: failure });
    expect(seen.reason).toBe(failure);
  });

  it('a machine without a terminate handler just exits with the reason', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, fragile);
    const seen = watch(node, pid);
    await stopProcess(node, pid, 'shutdown');
    expect(seen.reason).toBe('shutdown');
  });

  it('the terminate event cannot be forged: sending it is refused to the sender', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, closing);
    expect(() => node.cast(pid, { type: TERMINATE_EVENT })).toThrow(TypeError);
    expect(node.isAlive(pid)).toBe(true);
  });
});

describe('a failed start', () => {
  const cases: [string, AnyStateMachine, unknown][] = [
    [
      'a throwing entry action of the initial state',
      createMachine({
        id: 'bad-entry',
        initial: 'a',
        states: {
          a: {
            entry: () => {
              throw entryError;
            },
          },
        },
      }),
      entryError,
    ],
    [
      'a throwing context factory',
      createMachine({
        id: 'bad-context',
        context: () => {
          throw assignError;
        },
      }),
      assignError,
    ],
    [
      'a throwing assign on entry',
      createMachine({
        id: 'bad-assign',
        entry: assign(() => {
          throw assignError;
        }),
      }),
      assignError,
    ],
  ];

  it.each(cases)('%s: spawnStatem throws StartError and leaves no process', (_label, machine, error) => {
    const { node } = simulatedNode();
    const parent = spawnStatem(node, trapper, { trapExit: true });
    const before = node.stats.processes;
    let thrown: unknown;
    try {
      spawnStatem(node, machine, { name: 'child', link: parent });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toBeInstanceOf(StartError);
    expect(thrown).toMatchObject({ code: 'START_FAILED', reason: error, cause: error });
    expect(node.stats.processes).toBe(before);
    expect(node.whereis('child')).toBeUndefined();
    expect(node.registered()).toEqual([]);
    // Not a crash of a running actor: the would-be parent hears nothing and keeps no link.
    expect(stateOf<{ got: Ev[] }>(node, parent).context.got).toEqual([]);
    expect(sys.getStatus(node, parent).links).toEqual([]);
    // The name can be used at once.
    expect(() => spawnStatem(node, fragile, { name: 'child' })).not.toThrow();
  });

  it.each([
    ['a final initial state', createMachine({ id: 'instant', initial: 'done', states: { done: { type: 'final' } } }), 'normal'],
    ['stop(reason) in the initial entry', createMachine({ id: 'quitter', entry: stop({ shutdown: 'not today' }) }), { shutdown: 'not today' }],
    [
      'stop(reason) on an event the initial entry inserted',
      setup({ types: {} as { events: Ev } }).createMachine({
        id: 'late-quitter',
        entry: nextEvent({ type: 'check' }),
        on: { check: { actions: stop('no config') } },
      }),
      'no config',
    ],
  ] as [string, AnyStateMachine, ExitReason][])(
    'a machine that stops during its start (%s): StartError with the reason, as gen_statem init {stop, Reason} gives {error, Reason}',
    (_label, machine, reason) => {
      const { node } = simulatedNode();
      const parent = spawnStatem(node, trapper, { trapExit: true });
      const exits: ExitReason[] = [];
      node.onExit((_pid, why) => exits.push(why));
      let thrown: unknown;
      try {
        spawnStatem(node, machine, { name: 'child', link: parent });
      } catch (e) {
        thrown = e;
      }
      expect(thrown).toBeInstanceOf(StartError);
      expect((thrown as StartError).reason).toEqual(reason);
      expect(exits).toEqual([reason]); // it ran, and ended with that reason
      expect(node.whereis('child')).toBeUndefined();
      // A failed start, not an exit of a running actor: the would-be parent hears nothing.
      expect(stateOf<{ got: Ev[] }>(node, parent).context.got).toEqual([]);
      expect(sys.getStatus(node, parent).links).toEqual([]);
    },
  );
});

describe('XState features the runtime replaces', () => {
  it.each([
    ['invoke on the root', createMachine({ id: 'inv-root', invoke: { src: fromPromise(async () => 1) } })],
    [
      'invoke in a nested state',
      createMachine({
        id: 'inv-nested',
        initial: 'a',
        states: { a: { initial: 'b', states: { b: { invoke: { src: fromCallback(() => () => {}) } } } } },
      }),
    ],
  ])('a machine with %s is refused before any process exists', (_label, machine) => {
    const { node } = simulatedNode();
    expect(() => spawnStatem(node, machine)).toThrow(UnsupportedMachineFeatureError);
    expect(node.stats.spawned).toBe(0);
  });

  const child = createMachine({ id: 'child' });
  const cases: [string, AnyStateMachine][] = [
    ['spawnChild', setup({ actors: { child } }).createMachine({ id: 'sc', on: { go: { actions: spawnChild('child', { id: 'c' }) } } })],
    [
      'spawn in assign',
      setup({ actors: { child } }).createMachine({
        id: 'sa',
        context: { ref: undefined as unknown },
        on: { go: { actions: assign({ ref: ({ spawn }) => spawn('child') }) } },
      }),
    ],
    ['sendTo an actor ref', createMachine({ id: 'st', on: { go: { actions: sendTo(({ self }) => self, { type: 'hi' }) } } })],
    ['sendTo a function giving undefined', createMachine({ id: 'su', on: { go: { actions: sendTo(() => undefined as never, { type: 'hi' } as never) } } })],
  ];

  it.each(cases)('%s crashes the actor with UnsupportedMachineFeatureError instead of running unseen', (_label, machine) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'go' });
    expect(seen.down).toBe(true);
    expect(seen.reason).toBeInstanceOf(UnsupportedMachineFeatureError);
    expect(seen.reason).toMatchObject({ code: 'UNSUPPORTED_MACHINE_FEATURE' });
  });

  it('sendTo an actor ref with a delay crashes the actor as without one, and nothing reaches anybody', () => {
    // issue 21: the scheduler ignored the target, so the delayed event came back to the sender.
    const peer = createActor(setup({ types: {} as { context: { n: number } } }).createMachine({ context: { n: 0 }, on: { hi: { actions: assign({ n: ({ context }) => context.n + 1 }) } } }));
    peer.start();
    const sender = setup({ types: {} as { context: { got: number }; events: Ev } }).createMachine({
      id: 'delayed-sender',
      context: { got: 0 },
      on: {
        go: { actions: sendTo(() => peer, { type: 'hi' }, { delay: 10 }) },
        hi: { actions: assign({ got: ({ context }) => context.got + 1 }) },
      },
    });
    const { node, clock } = simulatedNode();
    const pid = spawnStatem(node, sender);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'go' });
    expect(seen.down).toBe(true);
    expect(seen.reason).toBeInstanceOf(UnsupportedMachineFeatureError);
    expect(clock.pending).toBe(0);
    clock.advance(100);
    expect(peer.getSnapshot().context.n).toBe(0);
  });

  it.each([
    ['sendTo a child id', createMachine({ id: 'st2', on: { go: { actions: sendTo('somebody', { type: 'hi' }) } } }), 'somebody'],
    ['sendTo a child id with a delay', createMachine({ id: 'st3', on: { go: { actions: sendTo('somebody', { type: 'hi' }, { delay: 10 }) } } }), 'somebody'],
    ['sendParent', createMachine({ id: 'sp', on: { go: { actions: sendParent({ type: 'hi' }) } } }), '#_parent'],
    ['forwardTo', createMachine({ id: 'fw', on: { go: { actions: forwardTo('somebody') } } }), 'somebody'],
  ])('%s crashes the actor (XState finds no such child before the runtime sees it)', (_label, machine, target) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, machine);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'go' });
    expect(seen.down).toBe(true);
    expect((seen.reason as Error).message).toContain(`Unable to send event to actor '${target}'`);
  });

  it('stopChild of an id that is no child is a no-op (there are never XState children)', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, createMachine({ id: 'sc2', on: { go: { actions: stopChild('somebody') } } }));
    node.cast(pid, { type: 'go' });
    expect(node.isAlive(pid)).toBe(true);
  });

  it('spawnChild in the initial state fails the start', () => {
    const { node } = simulatedNode();
    const machine = setup({ actors: { child } }).createMachine({ id: 'sc-init', entry: spawnChild('child') });
    let thrown: unknown;
    try {
      spawnStatem(node, machine);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(StartError);
    expect((thrown as StartError).reason).toBeInstanceOf(UnsupportedMachineFeatureError);
    expect(node.stats.processes).toBe(0);
  });
});

describe('a start that throws part-way', () => {
  it('sends nothing: the messages of the initial entry actions before the throw do not go out', () => {
    const { node } = simulatedNode();
    const listener = spawnStatem(
      node,
      setup({ types: {} as { context: { got: string[] }; events: Ev } }).createMachine({
        id: 'listener',
        context: { got: [] },
        on: { '*': { actions: assign({ got: ({ context, event }) => [...context.got, event.type] }) } },
      }),
    );
    const halfway = createMachine({
      id: 'halfway',
      entry: [
        sendInfo(listener, { type: 'hello' }),
        assign(() => {
          throw assignError;
        }),
      ],
    });
    expect(() => spawnStatem(node, halfway)).toThrow(StartError);
    expect(stateOf<{ got: string[] }>(node, listener).context.got).toEqual([]);
  });
});
