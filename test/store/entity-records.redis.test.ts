/**
 * Keyed records (`entity-records.ts`) on Redis: written by the commit script with the state, in
 * the same atomic step, never into the state; read back by key; never taken for "none" when they
 * cannot be read.
 */
import { describe, expect, it } from 'vitest';
import { PERSISTED_STATE_VERSION, type PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { RecordUnreadableError } from '../../src/store/entity-records.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

const db = privateRedisForFile();

function freshStore(): RedisStore {
  return new RedisStore(db.client, { prefix: `${db.prefix('r')}` });
}

function state(count: number, records?: Record<string, unknown>, journal?: unknown[]): PersistedActorState {
  return {
    version: PERSISTED_STATE_VERSION,
    machine: 'counter',
    snapshot: { status: 'active', value: 'idle', context: { count } },
    timers: [],
    postponed: [],
    ...(journal ? { journal, journalLength: journal.length } : {}),
    ...(records ? { records } : {}),
  };
}

const orchestrator = { entity: 'Orchestrator', key: 'customer-1' };
const billing = { entity: 'Billing', key: 'customer-1' };

async function commit(store: RedisStore, entries: { address: typeof orchestrator; expectedVersion: number; state: PersistedActorState }[], id = `m${db.next()}`) {
  await db.client.set(store.keys.lease('0'), 'n1');
  return store.commit({ partition: '0', node: 'n1', message: { id, target: entries[0]!.address }, entries, outbox: [], relayed: 0 });
}

describe('keyed records on Redis', () => {
  it('are written with the states of a commit, per entity, beside them and never in them', async () => {
    const store = freshStore();
    const result = await commit(store, [
      { address: orchestrator, expectedVersion: 0, state: state(1, { 'e-1': { status: 'completed', at: 5 }, 'e:2 "x"': { status: 'rejected', reason: 'no', at: 6 } }, ['j1']) },
      { address: billing, expectedVersion: 0, state: state(2, { 'e-1': { governor: 'Billing', status: 'applied', version: 0 } }) },
    ]);
    expect(result).toEqual({ status: 'ok', versions: [1, 1] });
    expect(await store.readRecords([
      { address: orchestrator, key: 'e-1' },
      { address: orchestrator, key: 'e:2 "x"' },
      { address: billing, key: 'e-1' },
      { address: billing, key: 'e:2 "x"' },
    ])).toEqual([{ status: 'completed', at: 5 }, { status: 'rejected', reason: 'no', at: 6 }, { governor: 'Billing', status: 'applied', version: 0 }, undefined]);
    // The stored state carries neither the records nor the journal entries.
    expect(await db.client.hget(store.keys.state(orchestrator), 'd')).not.toMatch(/e-1|records/);
    expect((await store.load(orchestrator))?.state).toEqual({ ...state(1), journalLength: 1 });
    expect(await store.readJournal(orchestrator)).toEqual(['j1']);
  });

  it('are not written by a commit that does not happen (a version conflict)', async () => {
    const store = freshStore();
    await commit(store, [{ address: orchestrator, expectedVersion: 0, state: state(1, { a: 1 }) }]);
    const stale = await commit(store, [{ address: orchestrator, expectedVersion: 0, state: state(2, { b: 2 }) }]);
    expect(stale).toMatchObject({ status: 'conflict', index: 0, version: 1 });
    expect(await store.readRecords([{ address: orchestrator, key: 'b' }])).toEqual([undefined]);
  });

  it('survive the deletion of the state (history is never dropped)', async () => {
    const store = freshStore();
    await commit(store, [{ address: orchestrator, expectedVersion: 0, state: state(1, { a: 1 }) }]);
    await store.delete(orchestrator);
    expect(await store.readRecords([{ address: orchestrator, key: 'a' }])).toEqual([1]);
  });

  it('commit a thousand at once (a migration moves a whole list)', async () => {
    const store = freshStore();
    const many = Object.fromEntries(Array.from({ length: 1_500 }, (_, i) => [`e-${i}`, { at: i }]));
    expect(await commit(store, [{ address: orchestrator, expectedVersion: 0, state: state(1, many) }])).toMatchObject({ status: 'ok' });
    expect(await db.client.hlen(store.keys.records(orchestrator))).toBe(1_500);
    expect(await store.readRecords([{ address: orchestrator, key: 'e-1499' }])).toEqual([{ at: 1_499 }]);
  });
});

describe('a records key holding junk', () => {
  it('of another type: reading it throws RECORD_UNREADABLE, naming the key and what to do', async () => {
    const store = freshStore();
    await db.client.set(store.keys.records(orchestrator), 'junk');
    const read = store.readRecords([{ address: orchestrator, key: 'e-1' }]);
    await expect(read).rejects.toBeInstanceOf(RecordUnreadableError);
    await expect(read).rejects.toMatchObject({ code: 'RECORD_UNREADABLE', message: expect.stringMatching(/another type than a hash.*restore the key from a backup/) });
  });

  it('of another type: a commit writing to it writes nothing at all (a conflict, the message not marked handled)', async () => {
    const store = freshStore();
    await db.client.rpush(store.keys.records(orchestrator), 'junk');
    const result = await commit(store, [{ address: orchestrator, expectedVersion: 0, state: state(1, { a: 1 }) }], 'm-junk');
    expect(result).toEqual({ status: 'conflict', index: 0, version: 0, recordsType: 'list' });
    expect(await store.load(orchestrator)).toBeUndefined();
    expect(await store.hasHandled(orchestrator, 'm-junk')).toBe(false);
  });

  it('a value that is not JSON: reading it throws RECORD_UNREADABLE, never "no record"', async () => {
    const store = freshStore();
    await db.client.hset(store.keys.records(orchestrator), 'e-1', '{not json');
    await expect(store.readRecords([{ address: orchestrator, key: 'e-1' }])).rejects.toMatchObject({ code: 'RECORD_UNREADABLE', message: expect.stringMatching(/"e-1".*not JSON/) });
  });
});

describe('keyed records in the memory store', () => {
  it('are stored with the state and never in it, copied, and kept after a delete', async () => {
    const store = new MemoryStore();
    const value = { status: 'completed', at: 1 };
    store.set(orchestrator, state(1, { 'e-1': value }));
    value.at = 99; // the live actor's value changing later does not change what was stored
    expect(store.record(orchestrator, 'e-1')).toEqual({ status: 'completed', at: 1 });
    expect(store.get(orchestrator)?.state).toEqual(state(1));
    await store.delete(orchestrator);
    expect(await store.readRecords([{ address: orchestrator, key: 'e-1' }, { address: orchestrator, key: 'e-2' }])).toEqual([{ status: 'completed', at: 1 }, undefined]);
  });

  it('are not written when the journal check refuses the state', () => {
    const store = new MemoryStore();
    expect(() => store.set(orchestrator, { ...state(1, { a: 1 }), journalLength: 3 })).toThrow(/JOURNAL|journal/);
    expect(store.record(orchestrator, 'a')).toBeUndefined();
  });
});
