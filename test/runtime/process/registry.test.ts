import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import {
  KILL,
  castTo,
  sendInfo,
  NameTakenError,
  NoProcError,
  NoSuchNameError,
  reply,
  spawnStatem,
  startSupervisor,
  stop,
  sys,
  whichChildren,
  worker,
  type ExitReason,
  type Pid,
} from '../../../src/index.ts';
import { simulatedNode, watch } from '../statem/helpers.ts';

type Ev = { type: string; [key: string]: unknown };

const svc = setup({ types: {} as { context: { n: number }; events: Ev } }).createMachine({
  id: 'svc',
  context: { n: 0 },
  on: {
    inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    get: { actions: reply(({ context }) => context.n) },
    stop: { actions: stop(({ event }: { event: Ev }) => event.reason as ExitReason) },
    crash: {
      actions: () => {
        throw new Error('crash');
      },
    },
  },
});

describe('register, whereis, unregister', () => {
  it('register a live pid under a name, and messages to the name reach it', async () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc);
    node.register('counter', pid);
    expect(node.whereis('counter')).toBe(pid);
    expect(node.registered()).toEqual(['counter']);
    node.cast('counter', { type: 'inc' });
    node.send('counter', { type: 'inc' });
    await expect(node.call('counter', { type: 'get' })).resolves.toBe(2);
  });

  it('spawn with a name registers it before anything else happens', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc, { name: 'svc' });
    expect(node.whereis('svc')).toBe(pid);
  });

  it('unregister frees the name; the process keeps running; a second unregister says false', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc, { name: 'svc' });
    expect(node.unregister('svc')).toBe(true);
    expect(node.unregister('svc')).toBe(false);
    expect(node.whereis('svc')).toBeUndefined();
    expect(node.isAlive(pid)).toBe(true);
    expect(() => node.send('svc', { type: 'inc' })).toThrow(NoSuchNameError);
  });

  it('a process whose name was unregistered can take a name again, and that one is freed when it exits', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc, { name: 'svc' });
    node.unregister('svc');
    node.register('svc-2', pid);
    expect(node.whereis('svc-2')).toBe(pid);
    expect(sys.getStatus(node, pid).name).toBe('svc-2');
    node.exit(pid, KILL);
    expect(node.registered()).toEqual([]);
  });

  it('a name unregistered and given to another process stays with it when the first one exits', () => {
    const { node } = simulatedNode();
    const first = spawnStatem(node, svc, { name: 'svc' });
    node.unregister('svc');
    const second = spawnStatem(node, svc, { name: 'svc' });
    node.exit(first, KILL);
    expect(node.whereis('svc')).toBe(second);
  });

  it('registeredName gives a live process’s name, nothing for one without a name or for a pid that exited', () => {
    const { node } = simulatedNode();
    const named = spawnStatem(node, svc, { name: 'svc' });
    const anonymous = spawnStatem(node, svc);
    expect(node.registeredName(named)).toBe('svc');
    expect(node.registeredName(anonymous)).toBeUndefined();
    node.exit(named, KILL);
    expect(node.registeredName(named)).toBeUndefined();
  });

  it('names are plain map keys: __proto__ and constructor are ordinary names', () => {
    const { node } = simulatedNode();
    const a = spawnStatem(node, svc, { name: '__proto__' });
    const b = spawnStatem(node, svc, { name: 'constructor' });
    expect(node.whereis('__proto__')).toBe(a);
    expect(node.whereis('constructor')).toBe(b);
    expect(node.whereis('toString')).toBeUndefined();
  });
});

describe('the process table', () => {
  it('node.processes() lists every live local process, and a process leaves it when it exits', () => {
    const { node } = simulatedNode();
    const [a, b] = [spawnStatem(node, svc), spawnStatem(node, svc, { name: 'b' })];
    const sup = startSupervisor(node, { children: [] });
    expect([...node.processes()].map((p) => [p.pid, p.kind])).toEqual([
      [a, 'statem'],
      [b, 'statem'],
      [sup, 'supervisor'],
    ]);
    node.exit(b, KILL);
    expect([...node.processes()].map((p) => p.pid)).toEqual([a, sup]);
    expect(node.stats).toMatchObject({ processes: 2, spawned: 3, exited: 1 });
  });
});

describe('node.stop()', () => {
  it('ends every process with shutdown, newest first: children go before the supervisor that started them', async () => {
    const { node } = simulatedNode();
    const loner = spawnStatem(node, svc);
    const sup = startSupervisor(node, { children: [worker('a', svc), worker('b', svc)] });
    const [a, b] = (await whichChildren(node, sup)).map((row) => row.pid);
    const exits: [Pid, ExitReason][] = [];
    node.onExit((pid, reason) => exits.push([pid, reason]));
    await node.stop();
    expect(exits).toEqual([
      [b, 'shutdown'],
      [a, 'shutdown'],
      [sup, 'shutdown'],
      [loner, 'shutdown'],
    ]);
  });
});

describe('names are freed on exit', () => {
  it.each([
    ['a normal stop', (node: ReturnType<typeof simulatedNode>['node'], pid: Pid) => node.cast(pid, { type: 'stop', reason: 'normal' })],
    ['a crash', (node: ReturnType<typeof simulatedNode>['node'], pid: Pid) => node.cast(pid, { type: 'crash' })],
    ['a kill', (node: ReturnType<typeof simulatedNode>['node'], pid: Pid) => node.exit(pid, KILL)],
  ])('after %s', (_label, end) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc, { name: 'svc' });
    end(node, pid);
    expect(node.whereis('svc')).toBeUndefined();
    expect(node.registered()).toEqual([]);
    const again = spawnStatem(node, svc, { name: 'svc' });
    expect(node.whereis('svc')).toBe(again);
  });

  it('so a supervisor restarts a crashed child under the same name', async () => {
    const { node } = simulatedNode();
    startSupervisor(node, { strategy: 'one_for_one', intensity: 5, period: 5, children: [worker('svc', svc, { name: 'svc' })] });
    const before = node.whereis('svc')!;
    node.cast('svc', { type: 'inc' });
    node.cast('svc', { type: 'crash' });
    await node.settle();
    const after = node.whereis('svc');
    expect(after).toBeDefined();
    expect(after).not.toBe(before);
    expect(node.isAlive(before)).toBe(false);
    await expect(node.call('svc', { type: 'get' })).resolves.toBe(0); // a fresh incarnation
  });
});

describe('refused names', () => {
  it('a name that is taken: NameTakenError naming the holder, and the holder keeps it', () => {
    const { node } = simulatedNode();
    const holder = spawnStatem(node, svc, { name: 'svc' });
    const other = spawnStatem(node, svc);
    let thrown: unknown;
    try {
      node.register('svc', other);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NameTakenError);
    expect(thrown).toMatchObject({ code: 'NAME_TAKEN', registeredName: 'svc', holder });
    expect(() => spawnStatem(node, svc, { name: 'svc' })).toThrow(NameTakenError);
    expect(node.whereis('svc')).toBe(holder);
    expect(node.stats.processes).toBe(2); // the refused spawn left nothing
  });

  it.each([[''], ['<x.1>'], ['<nonode.1>'], ['<']])('a name shaped like a pid or empty (%j)', (name) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc);
    expect(() => node.register(name, pid)).toThrow(NameTakenError);
    expect(() => spawnStatem(node, svc, { name })).toThrow(NameTakenError);
    expect(node.registered()).toEqual([]);
    expect(node.stats.processes).toBe(1);
  });

  it.each([[123], [null], [{}], [['a']], [Symbol('s')], [true]])('a name that is not a string (%s)', (name) => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc);
    expect(() => node.register(name as never, pid)).toThrow();
    expect(() => spawnStatem(node, svc, { name: name as never })).toThrow();
    expect(node.registered()).toEqual([]);
    expect(node.stats.processes).toBe(1);
  });

  it('a second name for a process that already has one (Erlang: badarg), so no name outlives it', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc, { name: 'first' });
    expect(() => node.register('second', pid)).toThrow(NameTakenError);
    expect(() => node.register('second', pid)).toThrow(/already registered as "first"/);
    expect(node.whereis('second')).toBeUndefined();
    node.exit(pid, KILL);
    expect(node.registered()).toEqual([]);
  });

  it('registering a dead pid', () => {
    const { node } = simulatedNode();
    const pid = spawnStatem(node, svc);
    node.exit(pid, KILL);
    expect(() => node.register('ghost', pid)).toThrow(NoProcError);
    expect(node.whereis('ghost')).toBeUndefined();
  });

  it('whereis and unregister of anything that is not a registered name answer nothing', () => {
    const { node } = simulatedNode();
    for (const name of ['', 'nobody', '<x.1>', 42, null, undefined, {}]) {
      expect(node.whereis(name as never)).toBeUndefined();
      expect(node.unregister(name as never)).toBe(false);
    }
  });
});

describe('sending to names', () => {
  it('send (Erlang’s !) to an unregistered local name throws NoSuchNameError (badarg)', () => {
    const { node } = simulatedNode();
    let thrown: unknown;
    try {
      node.send('nobody', { type: 'inc' });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(NoSuchNameError);
    expect(thrown).toMatchObject({ code: 'NO_SUCH_NAME', registeredName: 'nobody' });
  });

  it('a cast to an unregistered name is dropped, as gen_statem:cast ignores a missing destination', () => {
    const { node } = simulatedNode();
    expect(() => node.cast('nobody', { type: 'inc' })).not.toThrow();
    expect(node.stats.undelivered).toBe(1);
  });

  it('a message to {name, node} nobody holds is dropped silently, as in Erlang', () => {
    const { node } = simulatedNode();
    expect(() => node.send({ name: 'nobody', node: node.name }, { type: 'inc' })).not.toThrow();
    expect(() => node.cast({ name: 'nobody', node: node.name }, { type: 'inc' })).not.toThrow();
    expect(node.stats.undelivered).toBe(2);
  });

  it('an actor that sendInfo’s to an unregistered name crashes with NoSuchNameError; castTo is ignored', () => {
    const sender = setup({ types: {} as { events: Ev } }).createMachine({
      id: 'sender',
      on: { info: { actions: sendInfo('nobody', { type: 'hi' }) }, cast: { actions: castTo('nobody', { type: 'hi' }) } },
    });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, sender);
    node.cast(pid, { type: 'cast' });
    expect(node.isAlive(pid)).toBe(true);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'info' });
    expect(seen.reason).toBeInstanceOf(NoSuchNameError);
  });
});

describe('addresses that are not addresses', () => {
  const hostile: unknown[] = [null, undefined, 123, '', {}, [], ['a'], { name: 1, node: 'nonode' }, { name: 'x' }, { node: 'nonode' }, { name: '', node: 'nonode' }];

  it('are refused with TypeError by cast, send, call and monitor instead of vanishing', async () => {
    const { node } = simulatedNode();
    const watcher = spawnStatem(node, svc);
    for (const to of hostile) {
      const label = JSON.stringify(to) ?? String(to);
      expect(() => node.cast(to as never, { type: 'inc' }), label).toThrow(TypeError);
      expect(() => node.send(to as never, { type: 'inc' }), label).toThrow(TypeError);
      await expect(node.call(to as never, { type: 'get' }), label).rejects.toThrow(TypeError);
      expect(() => node.monitor(to as never, watcher), label).toThrow(TypeError);
    }
    expect(node.stats.undelivered).toBe(0);
  });

  it('crash an actor that sends to one', () => {
    const sender = setup({ types: {} as { events: Ev } }).createMachine({
      id: 'bad-address',
      on: { go: { actions: castTo(() => ({ name: 'x' }) as never, { type: 'hi' }) } },
    });
    const { node } = simulatedNode();
    const pid = spawnStatem(node, sender);
    const seen = watch(node, pid);
    node.cast(pid, { type: 'go' });
    expect(seen.reason).toBeInstanceOf(TypeError);
  });
});
