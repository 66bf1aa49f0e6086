import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { CallExitError, EntityHost, MemoryStore, MemoryTransport, SimulatedClock, createNode, reply, whichChildren, type EntityAddress, type Envelope } from '../../../src/index.ts';
import { flush } from '../statem/helpers.ts';

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

describe('a message for an entity that cannot be started', () => {
  /** A memory transport that records what the node hands back as undeliverable (a durable queue would retry it). */
  class RecordingTransport extends MemoryTransport {
    readonly undelivered: Envelope[] = [];
    undeliverable(envelope: Envelope): void {
      this.undelivered.push(envelope);
    }
  }

  /** An account whose machine fails while entering its first state for keys starting with `bad`. */
  const picky = setup({ types: {} as { context: { key: string }; input: { key: string } } }).createMachine({
    id: 'picky',
    context: ({ input }) => {
      if (input.key.startsWith('bad')) throw new Error(`no account ${input.key}`);
      return { key: input.key };
    },
    on: { get: { actions: reply(({ context }) => context.key) } },
  });

  function pickyWorld() {
    const transport = new RecordingTransport();
    const errors: unknown[] = [];
    const logger = { error: (fields: unknown, message: string) => errors.push({ fields, message }), warn: () => {}, debug: () => {} };
    const node = createNode({ clock: new SimulatedClock(), transport, logger: logger as never });
    const host = new EntityHost(node, [{ kind: 'Account', machine: picky }]);
    return { node, host, transport, errors };
  }

  it('is handed to the transport as undeliverable, counted, and the failed start is logged; the kind carries on', async () => {
    const { node, host, transport, errors } = pickyWorld();
    const bad = { entity: 'Account', key: 'bad-1' };
    node.cast(bad, { type: 'get' });
    expect(host.pidOf(bad)).toBeUndefined();
    expect(transport.undelivered).toEqual([expect.objectContaining({ t: 'cast', to: bad, event: { type: 'get' } })]);
    expect(node.stats.undelivered).toBe(1);
    expect(errors).toEqual([
      // As text: pino serialises an Error only under `err`, so an Error here would log as {}.
      { fields: expect.objectContaining({ reason: 'Error: no account bad-1' }), message: 'dynamic child failed to start' },
    ]);
    // Another customer of the same kind is not affected.
    expect(await node.call({ entity: 'Account', key: 'good' }, { type: 'get' })).toBe('good');
    expect(await whichChildren(node, 'entities:Account')).toHaveLength(1);
  });

  it('as a call is handed to the transport too, so a durable queue retries it instead of completing it unseen', () => {
    const { node, transport } = pickyWorld();
    const bad = { entity: 'Account', key: 'bad-2' };
    void node.call(bad, { type: 'get' }, { timeout: 1_000 }).catch(() => {});
    expect(transport.undelivered).toEqual([expect.objectContaining({ t: 'call', to: bad, event: { type: 'get' } })]);
    expect(node.stats.undelivered).toBe(1);
  });

  it('as a call, with nothing to retry it (the memory transport), fails at once with noproc instead of at its timeout', async () => {
    const node = createNode({ clock: new SimulatedClock() });
    new EntityHost(node, [{ kind: 'Account', machine: picky }]);
    const outcomes: unknown[] = [];
    for (const to of [
      { entity: 'Account', key: 'bad-3' }, // its start fails
      { entity: 'Ledger', key: 'k' }, // nobody hosts the kind
    ]) {
      node.call(to, { type: 'get' }, { timeout: Infinity }).then(
        (value) => outcomes.push(value),
        (error: unknown) => outcomes.push(error),
      );
    }
    await flush();
    expect(outcomes).toHaveLength(2);
    for (const error of outcomes) {
      expect(error).toBeInstanceOf(CallExitError);
      expect(error).toMatchObject({ reason: 'noproc' });
    }
    expect(String((outcomes[0] as Error).message)).toContain('Account/bad-3');
  });

  it('of a kind this node does not host is dropped and counted, not handed back (it is not ours to retry)', () => {
    const { node, transport } = pickyWorld();
    node.cast({ entity: 'Ledger', key: 'k' }, { type: 'get' });
    expect(transport.undelivered).toEqual([]);
    expect(node.stats.undelivered).toBe(1);
  });
});
