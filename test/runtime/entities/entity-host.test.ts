import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, SimulatedClock, createNode, reply, whichChildren, type EntityAddress } from '../../../src/index.ts';

const account = setup({ types: {} as { context: { key: string; n: number }; input: { key: string } } }).createMachine({
  id: 'account',
  context: ({ input }) => ({ key: input.key, n: 0 }),
  initial: 'open',
  states: {
    open: {
      on: {
        inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
        get: { actions: reply(({ context }) => context) },
        crash: {
          actions: () => {
            throw new Error('boom');
          },
        },
      },
    },
  },
});

function world(options: { commit?: boolean } = {}) {
  const node = createNode({ clock: new SimulatedClock() });
  const store = new MemoryStore();
  const host = new EntityHost(node, [{ kind: 'Account', machine: account }], {
    restore: (a) => store.get(a)?.state,
    ...(options.commit === false ? {} : { commit: (a: EntityAddress, persist) => store.set(a, persist()) }),
  });
  return { node, store, host };
}

const c1 = { entity: 'Account', key: 'c1' };

describe('entities', () => {
  it('are spawned on their first message, once, under their kind’s supervisor', async () => {
    const { node, host } = world();
    expect(host.pidOf(c1)).toBeUndefined();
    node.cast(c1, { type: 'inc' });
    node.cast(c1, { type: 'inc' });
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 2 });
    expect(await whichChildren(node, 'entities:Account')).toHaveLength(1);
  });

  it('restart after a crash from their last committed state, and a message right after the crash is not lost', async () => {
    const { node } = world();
    node.cast(c1, { type: 'inc' });
    node.cast(c1, { type: 'crash' });
    node.cast(c1, { type: 'inc' }); // the supervisor has restarted it synchronously: this reaches the new one
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 2 });
  });

  it('without a commit, a crash restarts from the initial state (nothing was committed)', async () => {
    const { node } = world({ commit: false });
    node.cast(c1, { type: 'inc' });
    node.cast(c1, { type: 'crash' });
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 0 });
  });

  it('passivate to the store and come back on the next message', async () => {
    const { node, host, store } = world({ commit: false });
    node.cast(c1, { type: 'inc' });
    const state = host.passivate(c1)!;
    expect(host.pidOf(c1)).toBeUndefined();
    store.set(c1, state);
    expect(await node.call(c1, { type: 'get' })).toEqual({ key: 'c1', n: 1 });
  });

  it('keep customers apart even when keys are crafted to collide after naive concatenation', async () => {
    const { node } = world();
    node.cast({ entity: 'Account', key: 'a/b' }, { type: 'inc' });
    expect(await node.call({ entity: 'Account', key: 'a' }, { type: 'get' })).toEqual({ key: 'a', n: 0 });
    expect(await node.call({ entity: 'Account', key: 'a/b' }, { type: 'get' })).toEqual({ key: 'a/b', n: 1 });
  });

  it.each([
    [{ entity: 'Account', key: '' }],
    [{ entity: 'Account', key: 'x'.repeat(257) }],
    [{ entity: 'Account', key: 'bad\u0000key' }],
    [{ entity: 'Account', key: '\ud800' }],
    [{ entity: 'Acc/ount', key: 'k' }],
    [{ entity: '__proto__', key: 'k' }],
  ])('refuse the hostile address %j with a clear error', (address) => {
    const { node } = world();
    expect(() => node.cast(address, { type: 'inc' })).toThrow(/entity|key|address/i);
  });
});
