/**
 * What a transport asks an entity host before it delivers a message (a BullMQ partition does so
 * for every job): whether the kind takes the message (`accepts`), whether the target's context
 * does (`checkState`, live or as committed), and which keyed records the message needs, as the
 * live entity would see them, else as committed.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, createNode, putRecord, reply, type EntityAddress, type EntityKind, type Envelope } from '../../../src/index.ts';
import type { StateCheck } from '../../../src/runtime/message-acceptance.ts';

/** Counts `inc`s; `put` writes the record `key` → `value`. */
const counter = setup({ types: {} as { context: { key: string; n: number }; input: { key: string } } }).createMachine({
  id: 'counter',
  context: ({ input }) => ({ key: input.key, n: 0 }),
  on: {
    inc: { actions: assign({ n: ({ context }) => context.n + 1 }) },
    get: { actions: reply(({ context }) => context) },
    put: { actions: putRecord(({ event }) => (event as unknown as { key: string }).key, ({ event }) => (event as unknown as { value: unknown }).value) },
  },
});

const c1: EntityAddress = { entity: 'Counter', key: 'c1' };
const cast = (event: { type: string; [k: string]: unknown }, to: EntityAddress = c1): Envelope => ({ t: 'cast', to, event });

/** The state check sees the context and, when it asks, the record; refuses `inc` past 2 and a used `key`. */
const checkState: StateCheck = (context, message, _address, record) => {
  const n = (context as { n?: number } | undefined)?.n;
  if (message.type === 'inc' && n !== undefined && n >= 2) return `n is ${n} already`;
  if (message.type === 'use' && record() !== null) return `key used: ${JSON.stringify(record())}`;
  return undefined;
};

function world(kind: Partial<EntityKind> = {}, options: { commit?: boolean } = {}) {
  const node = createNode({});
  const store = new MemoryStore();
  const host = new EntityHost(
    node,
    [
      {
        kind: 'Counter',
        machine: counter,
        recordKey: (event) => (event.type === 'use' ? String((event as unknown as { key: string }).key) : event.type === 'both' ? ['a', 'b'] : undefined),
        ...kind,
      },
      { kind: 'Plain', machine: counter },
    ],
    {
      restore: (a) => store.get(a)?.state,
      records: (a, key) => store.record(a, key),
      ...(options.commit === false ? {} : { commit: (a: EntityAddress, persist) => store.set(a, persist()) }),
    },
  );
  return { node, store, host };
}

describe('an entity host asked whether a kind takes a message', () => {
  it('answers by the kind’s accepts, with the message id and the node’s time the check is given', () => {
    const seen: unknown[] = [];
    const { host } = world({
      accepts: {
        inc: (_message, address, delivery) => (seen.push({ address, delivery }), undefined),
        get: true,
      },
    });
    expect(host.refusal(c1, cast({ type: 'inc' }), 'job-7')).toBeUndefined();
    expect(seen).toEqual([{ address: c1, delivery: { t: 'cast', id: 'job-7', now: expect.any(Number) } }]);
    expect(host.refusal(c1, cast({ type: 'nope' }))).toBe('Counter takes no "nope" messages (it takes "inc", "get")');
  });

  it('takes every message for a kind without accepts, and says nothing of a kind it does not host', () => {
    const { host } = world();
    expect(host.refusal(c1, cast({ type: 'anything' }))).toBeUndefined();
    expect(host.refusal({ entity: 'Ledger', key: 'k' }, cast({ type: 'anything' }))).toBeUndefined();
    expect(host.hosts('Counter')).toBe(true);
    expect(host.hosts('Ledger')).toBe(false);
  });
});

describe('an entity host asked whether an entity’s state takes a message', () => {
  it('checks against the live entity’s context', () => {
    const { node, host } = world({ checkState });
    node.cast(c1, { type: 'inc' });
    expect(host.stateRefusal(c1, cast({ type: 'inc' }))).toBeUndefined();
    node.cast(c1, { type: 'inc' });
    expect(host.stateRefusal(c1, cast({ type: 'inc' }))).toBe('n is 2 already');
  });

  it('checks against the stored state when the entity is not in memory, and against none for a fresh one', () => {
    const { node, host, store } = world({ checkState });
    node.cast(c1, { type: 'inc' });
    node.cast(c1, { type: 'inc' });
    host.passivate(c1);
    expect(host.pidOf(c1)).toBeUndefined();
    expect(host.stateRefusal(c1, cast({ type: 'inc' }), store.get(c1)?.state)).toBe('n is 2 already');
    expect(host.stateRefusal(c1, cast({ type: 'inc' }))).toBeUndefined();
    expect(host.pidOf(c1)).toBeUndefined(); // asking spawns nothing
  });

  it('hands the check the record the message names, as the live entity would see it, else as committed', () => {
    const { node, host } = world({ checkState }, { commit: false });
    expect(host.stateRefusal(c1, cast({ type: 'use', key: 'k1' }))).toBeUndefined();
    node.cast(c1, { type: 'put', key: 'k1', value: 'first' }); // written, not committed
    expect(host.stateRefusal(c1, cast({ type: 'use', key: 'k1' }))).toBe('key used: "first"');
    expect(host.stateRefusal(c1, { t: 'call', to: c1, from: { node: 'n', ref: 'r' } as never, event: { type: 'use', key: 'k1' } })).toBe('key used: "first"');
    expect(host.stateRefusal(c1, { t: 'info', to: c1, event: { type: 'use', key: 'k1' } })).toBe('key used: "first"');
  });

  it('takes every message for a kind without checkState or not hosted, and turns a throwing check into a refusal', () => {
    expect(world().host.stateRefusal(c1, cast({ type: 'inc' }))).toBeUndefined();
    expect(world({ checkState }).host.stateRefusal({ entity: 'Ledger', key: 'k' }, cast({ type: 'inc' }))).toBeUndefined();
    const { host } = world({
      checkState: () => {
        throw new Error('unreadable');
      },
    });
    expect(host.stateRefusal(c1, cast({ type: 'inc' }))).toBe('the Counter state check of "inc" messages failed: unreadable');
  });
});

describe('an entity host asked for the records a message needs', () => {
  it('knows which kinds keep records, and the keys an event names', () => {
    const { host } = world();
    expect(host.keepsRecords('Counter')).toBe(true);
    expect(host.keepsRecords('Plain')).toBe(false);
    expect(host.keepsRecords('Ledger')).toBe(false);
    expect(host.recordKey(c1, { type: 'use', key: 'k' } as never)).toBe('k');
    expect(host.recordKey(c1, { type: 'both' })).toEqual(['a', 'b']);
    expect(host.recordKey(c1, { type: 'inc' })).toBeUndefined();
    expect(host.recordKey({ entity: 'Plain', key: 'p' }, { type: 'use', key: 'k' } as never)).toBeUndefined();
    expect(host.recordKey({ entity: 'Ledger', key: 'l' }, { type: 'use', key: 'k' } as never)).toBeUndefined();
  });

  it('gives the live entity’s own writes first, then the committed ones, null for none, undefined when none is named', () => {
    const { node, host, store } = world({}, { commit: false });
    node.cast(c1, { type: 'put', key: 'a', value: 'new' }); // written, not committed
    store.set(c1, { ...host.processOf(c1)!.persist(), records: { a: 'old', b: 'stored' } });
    expect(host.recordFor(c1, { type: 'use', key: 'a' } as never)).toBe('new');
    expect(host.recordFor(c1, { type: 'both' })).toEqual({ a: 'new', b: 'stored' });
    expect(host.recordFor(c1, { type: 'use', key: 'zzz' } as never)).toBeNull();
    expect(host.recordFor(c1, { type: 'inc' })).toBeUndefined();
    expect(host.recordFor(c1, undefined)).toBeUndefined();
    host.passivate(c1); // not in memory: what the store has
    expect(host.recordFor(c1, { type: 'both' })).toEqual({ a: 'old', b: 'stored' });
  });
});

describe('an entity host without a records reader', () => {
  it('hands a kind that names records only what its entities wrote themselves; none is null', async () => {
    const node = createNode({});
    const host = new EntityHost(node, [{ kind: 'Counter', machine: counter, recordKey: (event) => (event as unknown as { key?: string }).key }]);
    node.cast(c1, { type: 'put', key: 'a', value: 1 });
    expect(host.recordFor(c1, { type: 'use', key: 'a' } as never)).toBe(1);
    expect(host.recordFor(c1, { type: 'use', key: 'b' } as never)).toBeNull();
    expect(await node.call(c1, { type: 'get', key: 'b' })).toEqual({ key: 'c1', n: 0 }); // its message is delivered all the same
    host.passivate(c1);
    expect(host.recordFor(c1, { type: 'use', key: 'a' } as never)).toBeNull();
  });
});

describe('an entity host asked for an entity', () => {
  it('spawns it on demand, once, and refuses a bad address or a kind it does not host', () => {
    const { host } = world();
    const pid = host.ensure(c1);
    expect(pid).toBeDefined();
    expect(host.ensure(c1)).toBe(pid);
    expect(host.pidOf(c1)).toBe(pid);
    expect(host.ensure({ entity: 'Ledger', key: 'k' })).toBeUndefined();
    expect(() => host.ensure({ entity: 'Counter', key: '' })).toThrow(/key must be/);
  });

  it('hands its state for a commit, with the records written since the last one, taken once', () => {
    const { node, host } = world({}, { commit: false });
    expect(host.commitState(c1)).toBeUndefined();
    node.cast(c1, { type: 'put', key: 'a', value: 'x' });
    node.cast(c1, { type: 'inc' });
    const state = host.commitState(c1)!;
    expect(state.snapshot).toMatchObject({ context: { key: 'c1', n: 1 } });
    expect(state.records).toEqual({ a: 'x' });
    expect(host.commitState(c1)?.records).toBeUndefined();
  });

  it('passivates only one that is in memory, which ends with {shutdown: passivated} and is not restarted', () => {
    const { node, host } = world();
    expect(host.passivate(c1)).toBeUndefined();
    node.cast(c1, { type: 'inc' });
    const reasons: unknown[] = [];
    node.monitor(host.pidOf(c1)!, (down) => reasons.push(down.reason));
    expect(host.passivate(c1)?.snapshot).toMatchObject({ context: { n: 1 } });
    expect(host.pidOf(c1)).toBeUndefined();
    expect(reasons).toEqual([{ shutdown: 'passivated' }]);
  });
});
