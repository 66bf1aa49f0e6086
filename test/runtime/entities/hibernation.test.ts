/**
 * Idle entities hibernate (gen_statem's `hibernate_after`): their snapshot leaves memory and
 * comes back from their last commit at their next use, while their process, timers and links
 * stay. Nothing an entity did may be lost by it, and nothing uncommitted may be thrown away.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, SimulatedClock, createNode, reply, startTimer, sys, type EntityAddress } from '../../../src/index.ts';
import { StatemProcess } from '../../../src/runtime/statem.ts';

const account = setup({ types: {} as { context: { key: string; n: number; rang: number }; input: { key: string } } }).createMachine({
  id: 'account',
  context: ({ input }) => ({ key: input.key, n: 0, rang: 0 }),
  initial: 'open',
  states: {
    open: {
      on: {
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        get: { actions: reply(({ context }) => context) },
        arm: { actions: startTimer('ring', 60_000, { type: 'ring' }) },
        ring: { actions: assign({ rang: ({ context }) => context.rang + 1 }) },
        close: { target: 'closed' },
      },
    },
    // Keeps `inc`s until it is opened again.
    closed: { meta: { postpone: ['inc'] }, on: { get: { actions: reply(({ context }) => context) }, reopen: 'open' } },
  },
});

function world() {
  const clock = new SimulatedClock();
  const node = createNode({ clock });
  const store = new MemoryStore();
  const restore = (a: EntityAddress) => store.get(a)?.state;
  const host = new EntityHost(node, [{ kind: 'Account', machine: account }], {
    restore,
    commit: (a, persist) => store.set(a, persist()),
    hibernation: { committed: restore, afterMs: 3_600_000 },
  });
  return { node, clock, store, host };
}

const at = (key: string) => ({ entity: 'Account', key });

describe('an idle entity', () => {
  it('hibernates at the second sweep that finds it idle, and answers from its committed state after', async () => {
    const { node, host } = world();
    for (const key of ['a', 'b']) {
      node.cast(at(key), { type: 'inc' });
      node.cast(at(key), { type: 'inc' });
    }
    expect(host.hibernateIdle()).toBe(0); // the first sweep only marks them
    expect(host.hibernateIdle()).toBe(2);
    expect(host.hibernatedCount()).toBe(2);
    expect(host.processOf(at('a'))?.hibernated).toBe(true);

    node.cast(at('a'), { type: 'inc' });
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 3, rang: 0 });
    expect(host.processOf(at('a'))?.hibernated).toBe(false);
    // A read of a hibernated one brings its state back too, without a message.
    expect(host.processOf(at('b'))?.getState()).toEqual({ value: 'open', context: { key: 'b', n: 2, rang: 0 } });
  });

  it('that stepped since the last sweep stays awake', async () => {
    const { node, host } = world();
    node.cast(at('a'), { type: 'inc' });
    host.hibernateIdle();
    node.cast(at('a'), { type: 'inc' });
    expect(host.hibernateIdle()).toBe(0);
    expect(host.hibernateIdle()).toBe(1);
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 2, rang: 0 });
  });

  it('keeps its timers while hibernated: one falling due wakes it and its step is committed', async () => {
    const { node, clock, store, host } = world();
    node.cast(at('b'), { type: 'arm' });
    node.cast(at('b'), { type: 'inc' });
    host.hibernateIdle();
    expect(host.hibernateIdle()).toBe(1);
    clock.advance(60_000);
    await node.settle();
    expect(await node.call(at('b'), { type: 'get' })).toEqual({ key: 'b', n: 1, rang: 1 });
    expect((store.get(at('b'))?.state.snapshot as { context: { rang: number } }).context.rang).toBe(1);
  });

  it('whose state was replaced (sys.replaceState) has it committed at once, so hibernating loses nothing', async () => {
    const { node, host, store } = world();
    node.cast(at('a'), { type: 'inc' });
    const pid = host.pidOf(at('a'))!;
    sys.replaceState(node, pid, ({ context }) => ({ context: { ...(context as object), n: 41 } }));
    expect((store.get(at('a'))?.state.snapshot as { context: { n: number } }).context.n).toBe(41);
    host.hibernateIdle();
    host.hibernateIdle();
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 41, rang: 0 });
  });

  it('never hibernates without a committed state to come back from', async () => {
    const node = createNode({ clock: new SimulatedClock() });
    const host = new EntityHost(node, [{ kind: 'Account', machine: account }], {});
    node.cast(at('a'), { type: 'inc' });
    host.hibernateIdle();
    expect(host.hibernateIdle()).toBe(0);
    const process = host.processOf(at('a'));
    expect(process).toBeInstanceOf(StatemProcess);
    expect(process?.hibernated).toBe(false);
  });

  it('keeps its postponed events while hibernated: the state change after waking retries them', async () => {
    const { node, host } = world();
    node.cast(at('a'), { type: 'close' });
    node.cast(at('a'), { type: 'inc' });
    node.cast(at('a'), { type: 'inc' });
    host.hibernateIdle();
    expect(host.hibernateIdle()).toBe(1);
    node.cast(at('a'), { type: 'reopen' });
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 2, rang: 0 });
  });

  it('whose committed state is gone when it wakes crashes with a reason that says so, and its supervisor restarts it', async () => {
    const { node, host, store } = world();
    node.cast(at('a'), { type: 'inc' });
    const pid = host.pidOf(at('a'))!;
    host.hibernateIdle();
    expect(host.hibernateIdle()).toBe(1);
    const exits: unknown[] = [];
    node.onExit((gone, reason) => gone === pid && exits.push(reason));
    await store.delete(at('a'));
    node.cast(at('a'), { type: 'inc' });
    expect(exits).toEqual([expect.objectContaining({ message: expect.stringContaining('hibernated and its committed state is gone') })]);
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 0, rang: 0 });
  });
});

describe('an entity its commit leaves at rest (hibernation.afterCommit)', () => {
  function eager(afterMs = 10_000) {
    const clock = new SimulatedClock();
    const node = createNode({ clock });
    const store = new MemoryStore();
    const restore = (a: EntityAddress) => store.get(a)?.state;
    const host = new EntityHost(node, [{ kind: 'Account', machine: account }], {
      restore,
      commit: (a, persist) => store.set(a, persist()),
      hibernation: { committed: restore, afterMs, afterCommit: true },
    });
    return { node, clock, store, host };
  }

  it('hibernates right after the commit and answers as it did awake', async () => {
    const awake = world();
    const { node, host } = eager();
    for (const w of [awake, { node, host }]) {
      w.node.cast(at('a'), { type: 'inc' });
      w.node.cast(at('a'), { type: 'inc' });
    }
    // Not inside the step: once the node's turn is over.
    expect(host.processOf(at('a'))?.hibernated).toBe(false);
    await node.settle();
    expect(host.hibernatedCount()).toBe(1);
    expect(awake.host.hibernatedCount()).toBe(0);
    const pid = host.pidOf(at('a'))!;
    const awakePid = awake.host.pidOf(at('a'))!;
    expect(sys.getState(node, pid)).toEqual(sys.getState(awake.node, awakePid));
    expect(sys.getStatus(node, pid).state).toEqual(sys.getStatus(awake.node, awakePid).state);
    // The reads above woke it; the call is a step, committed, after which it hibernates again.
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 2, rang: 0 });
    await node.settle();
    expect(host.processOf(at('a'))?.hibernated).toBe(true);
  });

  it('is not restored between two messages of the same turn (a prepare and its commit)', async () => {
    const clock = new SimulatedClock();
    const node = createNode({ clock });
    const store = new MemoryStore();
    let restores = 0;
    const host = new EntityHost(node, [{ kind: 'Account', machine: account }], {
      restore: (a) => store.get(a)?.state,
      commit: (a, persist) => store.set(a, persist()),
      hibernation: { committed: (a) => (restores++, store.get(a)?.state), afterCommit: true },
    });
    node.cast(at('a'), { type: 'inc' });
    node.cast(at('a'), { type: 'inc' });
    await node.settle();
    expect(host.processOf(at('a'))?.hibernated).toBe(true);
    expect(restores).toBe(0);
    node.cast(at('a'), { type: 'inc' });
    await node.settle();
    expect(restores).toBe(1);
    expect((store.get(at('a'))?.state.snapshot as { context: { n: number } }).context.n).toBe(3);
  });

  it('stays awake while a timer of it falls due within afterMs, and keeps a later one while hibernated', async () => {
    const soon = eager(120_000);
    soon.node.cast(at('a'), { type: 'arm' });
    await soon.node.settle();
    expect(soon.host.processOf(at('a'))?.hibernated).toBe(false);

    const later = eager(10_000);
    later.node.cast(at('b'), { type: 'arm' });
    await later.node.settle();
    expect(later.host.processOf(at('b'))?.hibernated).toBe(true);
    later.clock.advance(60_000);
    await later.node.settle();
    expect(await later.node.call(at('b'), { type: 'get' })).toEqual({ key: 'b', n: 0, rang: 1 });
  });

  it('keeps its postponed events while hibernated', async () => {
    const { node, host } = eager();
    node.cast(at('a'), { type: 'close' });
    node.cast(at('a'), { type: 'inc' });
    await node.settle();
    expect(host.processOf(at('a'))?.hibernated).toBe(true);
    node.cast(at('a'), { type: 'reopen' });
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 1, rang: 0 });
  });

  it('stays awake when its store is behind (isCommitted false)', async () => {
    const clock = new SimulatedClock();
    const node = createNode({ clock });
    const store = new MemoryStore();
    const restore = (a: EntityAddress) => store.get(a)?.state;
    const host = new EntityHost(node, [{ kind: 'Account', machine: account }], {
      restore,
      commit: (a, persist) => store.set(a, persist()),
      hibernation: { committed: restore, afterCommit: true, isCommitted: () => false },
    });
    node.cast(at('a'), { type: 'inc' });
    await node.settle();
    expect(host.processOf(at('a'))?.hibernated).toBe(false);
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 1, rang: 0 });
  });
});

describe('an entity whose commit lands after its step (hibernateCommitted, a BullMQ node)', () => {
  function later(afterCommit: boolean) {
    const node = createNode({ clock: new SimulatedClock() });
    const store = new MemoryStore();
    const restore = (a: EntityAddress) => store.get(a)?.state;
    const host = new EntityHost(node, [{ kind: 'Account', machine: account }], {
      restore,
      commit: (a, persist) => store.set(a, persist()),
      hibernation: { committed: restore, afterCommit, isCommitted: () => true },
    });
    return { node, host };
  }

  it('hibernates when told its commit is in, once: told again, it says it did not', async () => {
    const { node, host } = later(true);
    node.cast(at('a'), { type: 'inc' });
    await node.settle();
    expect(host.processOf(at('a'))?.hibernated).toBe(false); // its commit has not landed: nothing happens by itself
    expect(host.hibernateCommitted(at('a'))).toBe(true);
    expect(host.processOf(at('a'))?.hibernated).toBe(true);
    expect(host.hibernateCommitted(at('a'))).toBe(false);
    expect(host.hibernateCommitted(at('nobody'))).toBe(false);
    expect(await node.call(at('a'), { type: 'get' })).toEqual({ key: 'a', n: 1, rang: 0 });
  });

  it('does nothing without afterCommit', async () => {
    const { node, host } = later(false);
    node.cast(at('a'), { type: 'inc' });
    expect(host.hibernateCommitted(at('a'))).toBe(false);
    expect(host.processOf(at('a'))?.hibernated).toBe(false);
  });
});
