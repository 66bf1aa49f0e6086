import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import {
  CallExitError,
  CallTimeoutError,
  InvalidEntityAddressError,
  KILL,
  MemoryTransport,
  SimulatedClock,
  callTo,
  castTo,
  createNode,
  reply,
  spawnStatem,
  stop,
  sys,
  type Address,
  type Envelope,
  type ExitReason,
  type Node,
  type Pid,
} from '../../../src/index.ts';
import { flush, stateOf, watch } from '../statem/helpers.ts';

type Ev = { type: string; [key: string]: unknown };
type Ctx = { n: number; seen: unknown[]; got: Ev[]; peer?: Address };

const svc = setup({ types: {} as { context: Ctx; events: Ev; input: { peer?: Address } | undefined } }).createMachine({
  id: 'svc',
  context: ({ input }) => ({ n: 0, seen: [], got: [], peer: input?.peer }),
  initial: 'ready',
  states: {
    ready: {
      on: {
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        get: { actions: reply(({ context }) => context.n) },
        n: { actions: assign({ seen: ({ context, event }) => [...context.seen, event.i] }) },
        fwd: { actions: castTo(({ context }) => context.peer!, ({ event }) => ({ type: 'n', i: event.i })) },
        ask: {
          actions: callTo(({ context }) => context.peer!, { type: 'get' }, {
            timeout: 100,
            onReply: (value) => ({ type: 'answer', value }),
            onError: (error) => ({ type: 'answer', value: error }),
          }),
        },
        answer: { actions: assign({ seen: ({ context, event }) => [...context.seen, event.value] }) },
        EXIT: { actions: assign({ got: ({ context, event }) => [...context.got, event] }) },
        DOWN: { actions: assign({ got: ({ context, event }) => [...context.got, event] }) },
        stop: { actions: stop(({ event }: { event: Ev }) => event.reason as ExitReason) },
        busy: 'busy',
      },
    },
    busy: { meta: { postpone: ['get'] }, on: { free: 'ready' } },
  },
});

function cluster(): { a: Node; b: Node; clock: SimulatedClock; transport: MemoryTransport } {
  const transport = new MemoryTransport();
  const clock = new SimulatedClock();
  return { a: createNode({ name: 'a', transport, clock }), b: createNode({ name: 'b', transport, clock }), clock, transport };
}

const ctx = (node: Node, pid: Pid) => stateOf<Ctx>(node, pid).context;

describe('messages between nodes', () => {
  it('cast and send reach a pid or a {name, node} on the other node', () => {
    const { a, b } = cluster();
    const pid = spawnStatem(b, svc, { name: 'svc' });
    a.cast(pid, { type: 'inc' });
    a.send(pid, { type: 'inc' });
    a.cast({ name: 'svc', node: 'b' }, { type: 'inc' });
    expect(ctx(b, pid).n).toBe(3);
  });

  it('a call across nodes is answered, by pid or by {name, node}', async () => {
    const { a, b } = cluster();
    const pid = spawnStatem(b, svc, { name: 'svc' });
    b.cast(pid, { type: 'inc' });
    await expect(a.call(pid, { type: 'get' })).resolves.toBe(1);
    await expect(a.call({ name: 'svc', node: 'b' }, { type: 'get' })).resolves.toBe(1);
  });

  it('a plain name is always local: the other node’s names are reached only as {name, node}', async () => {
    const { a, b } = cluster();
    spawnStatem(b, svc, { name: 'svc' });
    await expect(a.call('svc', { type: 'get' })).rejects.toMatchObject({ reason: 'noproc' });
  });

  it('a call to a name the other node does not hold fails with noproc', async () => {
    const { a } = cluster();
    const error = await a.call({ name: 'nobody', node: 'b' }, { type: 'get' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CallExitError);
    expect(error).toMatchObject({ reason: 'noproc' });
  });

  it('a remote callee that dies mid-call fails the call with its reason', async () => {
    const { a, b } = cluster();
    const pid = spawnStatem(b, svc);
    b.cast(pid, { type: 'busy' });
    const call = a.call(pid, { type: 'get' }, { timeout: Infinity });
    b.exit(pid, { shutdown: 'moved' });
    await expect(call).rejects.toMatchObject({ reason: { shutdown: 'moved' } });
  });

  it('a remote call that times out drops the late reply on the caller’s node', async () => {
    const { a, b, clock } = cluster();
    const pid = spawnStatem(b, svc);
    b.cast(pid, { type: 'busy' });
    const call = a.call(pid, { type: 'get' }, { timeout: 50 });
    clock.advance(50);
    await expect(call).rejects.toBeInstanceOf(CallTimeoutError);
    b.cast(pid, { type: 'free' });
    expect(a.stats.lateReplies).toBe(1);
    expect(b.stats.lateReplies).toBe(0);
  });

  it('actors talk across nodes with castTo and callTo, in send order', async () => {
    const { a, b } = cluster();
    const remote = spawnStatem(b, svc, { name: 'svc' });
    const local = spawnStatem(a, svc, { input: { peer: { name: 'svc', node: 'b' } } });
    for (let i = 0; i < 200; i++) a.cast(local, { type: 'fwd', i });
    expect(ctx(b, remote).seen).toEqual(Array.from({ length: 200 }, (_, i) => i));
    b.cast(remote, { type: 'inc' });
    a.cast(local, { type: 'ask' });
    await flush();
    expect(ctx(a, local).seen).toEqual([1]);
  });
});

describe('links and monitors between nodes', () => {
  it('a crash on one node travels a link to the other', () => {
    const { a, b } = cluster();
    const local = spawnStatem(a, svc);
    const remote = spawnStatem(b, svc);
    a.link(local, remote);
    expect(sys.getStatus(b, remote).links).toEqual([local]);
    const seen = watch(a, local);
    b.cast(remote, { type: 'stop', reason: 'remote failure' });
    expect(seen.reason).toBe('remote failure');
  });

  it('a link made with the remote pid first is kept at both ends: each end’s crash reaches the other', () => {
    const { a, b } = cluster();
    const local = spawnStatem(a, svc);
    const remote = spawnStatem(b, svc);
    a.link(remote, local);
    expect(sys.getStatus(b, remote).links).toEqual([local]);
    expect(sys.getStatus(a, local).links).toEqual([remote]);
    const seen = watch(b, remote);
    a.cast(local, { type: 'stop', reason: 'local failure' });
    expect(seen.reason).toBe('local failure');
  });

  it('a trapping process hears of a remote linked exit as an EXIT event', () => {
    const { a, b } = cluster();
    const local = spawnStatem(a, svc, { trapExit: true });
    const remote = spawnStatem(b, svc);
    a.link(local, remote);
    b.exit(remote, KILL);
    expect(ctx(a, local).got).toEqual([{ type: 'EXIT', from: remote, reason: 'killed' }]);
  });

  it('a monitor on a remote pid or {name, node} gets DOWN with the reason', () => {
    const { a, b } = cluster();
    const watcher = spawnStatem(a, svc);
    const remote = spawnStatem(b, svc, { name: 'svc' });
    const r1 = a.monitor(remote, watcher);
    const r2 = a.monitor({ name: 'svc', node: 'b' }, watcher);
    const calls: unknown[] = [];
    a.monitor(remote, (down) => calls.push(down.reason));
    expect(sys.getStatus(b, remote).monitoredBy).toBe(3);
    b.cast(remote, { type: 'stop', reason: 'shutdown' });
    expect(ctx(a, watcher).got).toEqual([
      { type: 'DOWN', ref: r1, pid: remote, reason: 'shutdown' },
      { type: 'DOWN', ref: r2, pid: remote, reason: 'shutdown' },
    ]);
    expect(calls).toEqual(['shutdown']);
  });

  it('a monitor callback on a {name, node} hears the pid that held the name, as a process watcher does', () => {
    const { a, b } = cluster();
    const remote = spawnStatem(b, svc, { name: 'svc' });
    const local = spawnStatem(a, svc, { name: 'here' });
    const downs: unknown[] = [];
    a.monitor({ name: 'svc', node: 'b' }, (down) => downs.push([down.pid, down.reason]));
    a.monitor({ name: 'here', node: 'a' }, (down) => downs.push([down.pid, down.reason]));
    b.exit(remote, 'shutdown');
    a.exit(local, 'shutdown');
    expect(downs).toEqual([
      [remote, 'shutdown'],
      [local, 'shutdown'],
    ]);
  });

  it('a monitor callback on another node’s process, still waiting when its own node stops, hears shutdown with the target it named', async () => {
    const { a, b } = cluster();
    const remote = spawnStatem(b, svc, { name: 'svc' });
    const downs: unknown[] = [];
    a.monitor(remote, (down) => downs.push([down.pid, down.reason]));
    a.monitor({ name: 'svc', node: 'b' }, (down) => downs.push([down.pid, down.reason]));
    await a.stop();
    expect(downs).toEqual([
      [remote, 'shutdown'],
      [{ name: 'svc', node: 'b' }, 'shutdown'],
    ]);
    await b.stop();
  });

  it('a monitor set for a watcher that has exited (by a third party) keeps nothing for it, and its DOWN is dropped and counted', () => {
    const { a, b } = cluster();
    const watcher = spawnStatem(a, svc);
    a.exit(watcher, KILL);
    const [remote, local] = [spawnStatem(b, svc, { name: 'svc' }), spawnStatem(a, svc)];
    expect(() => a.monitor({ name: 'svc', node: 'b' }, watcher)).not.toThrow();
    expect(() => a.monitor(local, watcher)).not.toThrow();
    b.exit(remote, KILL);
    a.exit(local, KILL);
    expect(a.stats.undelivered).toBe(2);
  });

  it('a monitor on a dead remote pid or a name nobody holds there is noproc at once', () => {
    const { a, b } = cluster();
    const remote = spawnStatem(b, svc);
    b.exit(remote, KILL);
    const calls: unknown[] = [];
    a.monitor(remote, (down) => calls.push(down.reason));
    a.monitor({ name: 'nobody', node: 'b' }, (down) => calls.push(down.reason));
    expect(calls).toEqual(['noproc', 'noproc']);
  });

  it('a demonitor across nodes removes the monitor', () => {
    const { a, b } = cluster();
    const remote = spawnStatem(b, svc);
    const calls: unknown[] = [];
    const ref = a.monitor(remote, (down) => calls.push(down.reason));
    a.demonitor(ref, remote);
    expect(sys.getStatus(b, remote).monitoredBy).toBe(0);
    b.exit(remote, KILL);
    expect(calls).toEqual([]);
  });

  it('a node that stops takes its processes down with shutdown, and remote links and monitors hear it', async () => {
    const { a, b } = cluster();
    const local = spawnStatem(a, svc, { trapExit: true });
    const remote = spawnStatem(b, svc);
    a.link(local, remote);
    const calls: unknown[] = [];
    a.monitor(remote, (down) => calls.push(down.reason));
    await b.stop();
    expect(ctx(a, local).got).toEqual([{ type: 'EXIT', from: remote, reason: 'shutdown' }]);
    expect(calls).toEqual(['shutdown']);
  });

  it('a node that stops fails its own calls still waiting on another node with shutdown: none is left hanging', async () => {
    const { a, b } = cluster();
    const remote = spawnStatem(b, svc, { name: 'svc' });
    b.cast(remote, { type: 'busy' }); // postpones `get`: no reply comes until it is free
    const byPid = a.call(remote, { type: 'get' }, { timeout: Infinity });
    const byName = a.call({ name: 'svc', node: 'b' }, { type: 'get' }, { timeout: Infinity });
    const outcomes = Promise.allSettled([byPid, byName]);
    await a.stop();
    const settled = await outcomes;
    for (const outcome of settled) {
      expect(outcome.status).toBe('rejected');
      expect((outcome as PromiseRejectedResult).reason).toBeInstanceOf(CallExitError);
      expect((outcome as PromiseRejectedResult).reason).toMatchObject({ reason: 'shutdown' });
    }
    // The other node is untouched, and its reply to a caller that is gone is dropped.
    b.cast(remote, { type: 'free' });
    expect(b.isAlive(remote)).toBe(true);
  });
});

describe('a node that is not attached', () => {
  it('a call to it fails with CallExitError noconnection, by pid or by {name, node}', async () => {
    const { a } = cluster();
    for (const to of ['<ghost.1>', { name: 'svc', node: 'ghost' }] as Address[]) {
      const error = await a.call(to, { type: 'get' }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(CallExitError);
      expect(error).toMatchObject({ reason: 'noconnection' });
    }
  });

  it('a call to a node that has stopped fails with noconnection', async () => {
    const { a, b } = cluster();
    const remote = spawnStatem(b, svc, { name: 'svc' });
    await b.stop();
    await expect(a.call(remote, { type: 'get' })).rejects.toMatchObject({ reason: 'noconnection' });
    await expect(a.call({ name: 'svc', node: 'b' }, { type: 'get' })).rejects.toMatchObject({ reason: 'noconnection' });
  });

  it('a monitor gets DOWN noconnection, a link an exit signal noconnection; casts are dropped', () => {
    const { a } = cluster();
    const local = spawnStatem(a, svc, { trapExit: true });
    const calls: unknown[] = [];
    a.monitor('<ghost.7>' as Pid, (down) => calls.push(down.reason));
    a.link(local, '<ghost.7>' as Pid);
    expect(calls).toEqual(['noconnection']);
    expect(ctx(a, local).got).toEqual([{ type: 'EXIT', from: '<ghost.7>', reason: 'noconnection' }]);
    expect(() => a.cast({ name: 'svc', node: 'ghost' }, { type: 'inc' })).not.toThrow();
  });

  it('an actor calling it gets onError with noconnection', async () => {
    const { a } = cluster();
    const local = spawnStatem(a, svc, { input: { peer: { name: 'svc', node: 'ghost' } } });
    a.cast(local, { type: 'ask' });
    await flush();
    const [error] = ctx(a, local).seen;
    expect(error).toBeInstanceOf(CallExitError);
    expect(error).toMatchObject({ reason: 'noconnection' });
  });
});

describe('attaching nodes', () => {
  it('refuses a second node with the same name on one transport', () => {
    const transport = new MemoryTransport();
    createNode({ name: 'a', transport });
    expect(() => createNode({ name: 'a', transport })).toThrow(/already attached/);
  });

  it.each([[''], ['has space'], ['<a>'], ['a.b'], ['ü']])('refuses a node name that cannot appear in a pid (%j)', (name) => {
    expect(() => createNode({ name, transport: new MemoryTransport() })).toThrow(TypeError);
  });

  it('a stopped node’s name can be attached again', async () => {
    const transport = new MemoryTransport();
    const first = createNode({ name: 'a', transport });
    await first.stop();
    expect(() => createNode({ name: 'a', transport })).not.toThrow();
  });
});

describe('cleanup across nodes', () => {
  it('a watcher that dies removes its monitors on the other node, whether it named a pid or {name, node}', () => {
    const { a, b } = cluster();
    const watcher = spawnStatem(a, svc);
    const remote = spawnStatem(b, svc, { name: 'svc' });
    a.monitor(remote, watcher);
    a.monitor({ name: 'svc', node: 'b' }, watcher);
    expect(sys.getStatus(b, remote).monitoredBy).toBe(2);
    a.exit(watcher, KILL);
    expect(sys.getStatus(b, remote).monitoredBy).toBe(0);
    b.exit(remote, KILL);
    expect(a.stats.undelivered).toBe(0);
  });

  it('a process that dies unlinks itself on the other node', () => {
    const { a, b } = cluster();
    const local = spawnStatem(a, svc);
    const remote = spawnStatem(b, svc);
    a.link(local, remote);
    a.cast(local, { type: 'stop', reason: 'normal' });
    expect(sys.getStatus(b, remote).links).toEqual([]);
    expect(b.isAlive(remote)).toBe(true);
  });
});

/**
 * A memory transport that holds every envelope until `release()`: the time an envelope spends
 * between nodes, during which the processes at either end go on acting.
 */
class HeldTransport extends MemoryTransport {
  readonly #held: { node: string; envelope: Envelope }[] = [];
  override send(node: string, envelope: Envelope): void {
    this.#held.push({ node, envelope });
  }
  release(): void {
    for (const { node, envelope } of this.#held.splice(0)) super.send(node, envelope);
  }
}

describe('an unlink and an exit signal crossing between nodes', () => {
  // Erlang: once unlink(Id) has returned, no exit signal due to that link reaches the caller,
  // even one the other side sent before it heard of the unlink.
  function heldCluster(): { a: Node; b: Node; transport: HeldTransport } {
    const transport = new HeldTransport();
    const clock = new SimulatedClock();
    return { a: createNode({ name: 'a', transport, clock }), b: createNode({ name: 'b', transport, clock }), transport };
  }

  function crossing(trapExit: boolean): { a: Node; local: Pid; remote: Pid } {
    const { a, b, transport } = heldCluster();
    const local = spawnStatem(a, svc, { trapExit });
    const remote = spawnStatem(b, svc);
    a.link(local, remote);
    transport.release();
    b.cast(remote, { type: 'stop', reason: 'remote failure' }); // its exit signal is on its way to a
    a.unlink(local, remote); // before it arrives
    transport.release();
    return { a, local, remote };
  }

  it('a process that unlinked before the signal arrived is not taken down by it', () => {
    const { a, local } = crossing(false);
    expect(a.isAlive(local)).toBe(true);
  });

  it('a trapping process that unlinked gets no EXIT for the old link', () => {
    const { a, local } = crossing(true);
    expect(a.isAlive(local)).toBe(true);
    expect(ctx(a, local).got).toEqual([]);
  });

  it('exit/2 from the same process, which needs no link, still arrives', () => {
    const { a, b, transport } = heldCluster();
    const local = spawnStatem(a, svc);
    const remote = spawnStatem(b, svc);
    b.exit(local, 'shutdown', remote);
    transport.release();
    expect(a.isAlive(local)).toBe(false);
  });
});

describe('entity addresses through the memory transport', () => {
  it.each([
    [{ entity: 'Billing', key: 42 }],
    [{ entity: 'Billing', key: '' }],
    [{ entity: 'Billing', key: 'a\u0000b' }],
    [{ entity: 'no spaces', key: 'k' }],
    [{ entity: 7, key: 'k' }],
  ])('a malformed one (%j) is refused with InvalidEntityAddressError before it is placed', (address) => {
    const { a } = cluster();
    expect(() => a.cast(address as never, { type: 'inc' })).toThrow(InvalidEntityAddressError);
    expect(() => a.send(address as never, { type: 'inc' })).toThrow(InvalidEntityAddressError);
  });
});
