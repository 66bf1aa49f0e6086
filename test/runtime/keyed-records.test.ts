/**
 * Keyed records at the runtime: written with `putRecord`, committed with the state, handed back
 * with the event that names them (`$record`) — from what the actor wrote since its last commit,
 * else from the store — looked up again for a postponed event, and never taken from the sender.
 */
import { describe, expect, it } from 'vitest';
import { assign, setup } from 'xstate';
import { EntityHost, MemoryStore, createNode, putRecord, reply } from '../../src/index.ts';
import { recordKeyList, recordValue } from '../../src/runtime/record-keys.ts';

/** Answers `seen` with the record handed over; records `key` → `value` on `put`. */
const machine = setup({}).createMachine({
  id: 'recorder',
  initial: 'open',
  context: { puts: 0 },
  states: {
    open: {
      on: {
        seen: { actions: reply(({ event }) => ({ record: (event as { $record?: unknown }).$record })) },
        put: {
          actions: [
            putRecord(({ event }) => (event as unknown as { key: string }).key, ({ event }) => (event as unknown as { value: unknown }).value),
            assign({ puts: ({ context }) => context.puts + 1 }),
          ],
        },
      },
    },
  },
});

function host(store = new MemoryStore()) {
  const node = createNode({});
  new EntityHost(
    node,
    // `seen` names one key, or several (`keys`): `$record` is then an object of each key's value.
    [{ kind: 'Recorder', machine, recordKey: (event) => (event.type === 'seen' ? ((event as unknown as { keys?: string[] }).keys ?? (event as unknown as { key: string }).key) : undefined) }],
    { restore: (a) => store.get(a)?.state, records: (a, key) => store.record(a, key), commit: (a, persist) => store.set(a, persist()) },
  );
  return { node, store };
}
const address = { entity: 'Recorder', key: 'r1' };

describe('keyed records at the runtime', () => {
  it('are committed beside the state and handed back with the event that names them; none is null', async () => {
    const { node, store } = host();
    node.cast(address, { type: 'put', key: 'k1', value: { n: 1 } });
    await node.settle();
    expect(store.record(address, 'k1')).toEqual({ n: 1 });
    expect(JSON.stringify(store.get(address)!.state)).not.toContain('k1');
    expect(await node.call(address, { type: 'seen', key: 'k1' })).toEqual({ record: { n: 1 } });
    expect(await node.call(address, { type: 'seen', key: 'k2' })).toEqual({ record: null });
  });

  it('named several for one event, are handed back as an object of each key, written since the commit or committed; none is null', async () => {
    const { node } = host();
    node.cast(address, { type: 'put', key: 'k1', value: 1 });
    await node.settle();
    node.cast(address, { type: 'put', key: 'k2', value: 2 });
    expect(await node.call(address, { type: 'seen', keys: ['k1', 'k2', 'k3'] })).toEqual({ record: { k1: 1, k2: 2, k3: null } });
  });

  it('are read from the store by a restarted actor', async () => {
    const store = new MemoryStore();
    const first = host(store);
    first.node.cast(address, { type: 'put', key: 'k1', value: 'v' });
    await first.node.settle();
    await first.node.stop();
    const second = host(store);
    expect(await second.node.call(address, { type: 'seen', key: 'k1' })).toEqual({ record: 'v' });
  });

  it('never take a $record from the sender', async () => {
    const { node } = host();
    expect(await node.call(address, { type: 'seen', key: 'k9', $record: { forged: true } })).toEqual({ record: null });
  });
});

describe('the record keys an event names', () => {
  it('are a list: none, one, or several in their order', () => {
    expect(recordKeyList(undefined)).toEqual([]);
    expect(recordKeyList('k')).toEqual(['k']);
    expect(recordKeyList(['b', 'a'])).toEqual(['b', 'a']);
    expect(recordKeyList([])).toEqual([]);
  });
});

describe('$record for the keys named', () => {
  it('is the value of one key, an object of several, null where there is none', () => {
    const values: Record<string, unknown> = { a: 1, z: 0 };
    const valueOf = (key: string) => values[key];
    expect(recordValue('a', valueOf)).toBe(1);
    expect(recordValue('z', valueOf)).toBe(0);
    expect(recordValue('b', valueOf)).toBeNull();
    expect(recordValue(['a', 'b'], valueOf)).toEqual({ a: 1, b: null });
    expect(recordValue(undefined, valueOf)).toEqual({});
  });
});
