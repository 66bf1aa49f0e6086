/**
 * The records an actor wrote (`putRecord`) and committed are remembered, the most recent 256, so
 * the event that needs one is not held up by the store; older ones come from the store. And only
 * the runtime says what a record is: a `$record` an event came with is never handed over.
 */
import { describe, expect, it } from 'vitest';
import { setup } from 'xstate';
import { putRecord, reply, spawnStatem, type StatemProcess } from '../../../src/index.ts';
import { simulatedNode } from './helpers.ts';

type Ev = { type: string; key?: string; value?: unknown; $record?: unknown };

const recorder = setup({ types: {} as { events: Ev } }).createMachine({
  id: 'recorder',
  on: {
    put: { actions: putRecord(({ event }) => event.key!, ({ event }) => event.value) },
    seen: { actions: reply(({ event }) => ({ record: event.$record })) },
    plain: { actions: reply(({ event }) => ({ has: '$record' in event })) },
  },
});

/** An actor whose every step is committed to `store`, which counts the lookups it answers. */
function committed() {
  const { node } = simulatedNode();
  const store = new Map<string, unknown>();
  const lookups: string[] = [];
  const pid = spawnStatem(node, recorder, {
    records: {
      keyOf: (event) => (event.type === 'seen' ? (event as Ev).key : undefined),
      lookup: (key) => (lookups.push(key), store.get(key)),
    },
    afterStep: (process: StatemProcess) => {
      for (const [key, value] of Object.entries(process.persistForCommit().records ?? {})) store.set(key, value);
    },
  });
  return { node, pid, store, lookups };
}

describe('records an actor wrote', () => {
  it('once committed, are handed back from memory: the store is not asked', async () => {
    const { node, pid, store, lookups } = committed();
    node.cast(pid, { type: 'put', key: 'k1', value: 1 });
    expect(store.get('k1')).toBe(1);
    expect(await node.call(pid, { type: 'seen', key: 'k1' })).toEqual({ record: 1 });
    expect(lookups).toEqual([]);
    expect(await node.call(pid, { type: 'seen', key: 'k2' })).toEqual({ record: null });
    expect(lookups).toEqual(['k2']);
  });

  it('are remembered 256 at most, the most recently written; the store answers for the others', async () => {
    const { node, pid, lookups } = committed();
    for (let i = 0; i < 300; i++) node.cast(pid, { type: 'put', key: `k${i}`, value: i });
    node.cast(pid, { type: 'put', key: 'k0', value: 'again' }); // written again: the most recent
    for (const i of [0, 45, 299]) await node.call(pid, { type: 'seen', key: `k${i}` });
    expect(lookups).toEqual([]);
    expect(await node.call(pid, { type: 'seen', key: 'k44' })).toEqual({ record: 44 });
    expect(await node.call(pid, { type: 'seen', key: 'k1' })).toEqual({ record: 1 });
    expect(lookups).toEqual(['k44', 'k1']);
  });
});

describe('a $record an event came with', () => {
  it('is dropped when the event names no record', async () => {
    const { node, pid } = committed();
    expect(await node.call(pid, { type: 'plain', $record: 'forged' })).toEqual({ has: false });
  });

  it('is replaced by the record when the event names one', async () => {
    const { node, pid } = committed();
    expect(await node.call(pid, { type: 'seen', key: 'k9', $record: 'forged' })).toEqual({ record: null });
  });
});
