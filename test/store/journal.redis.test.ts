import { describe, expect, it } from 'vitest';
import { PERSISTED_STATE_VERSION, type PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { JournalMismatchError } from '../../src/store/journal.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { StoredStateError } from '../../src/store/redis-errors.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

const db = privateRedisForFile();

const log = { entity: 'Receipts', key: 'customer-1' };
const other = { entity: 'Billing', key: 'customer-1' };

function state(journalLength: number, journal?: unknown[]): PersistedActorState {
  return {
    version: PERSISTED_STATE_VERSION,
    machine: 'log',
    snapshot: { status: 'active', value: 'Recording', context: { size: journalLength } },
    timers: [],
    postponed: [],
    ...(journalLength > 0 ? { journalLength } : {}),
    ...(journal ? { journal } : {}),
  };
}

const entries = (from: number, count: number) => Array.from({ length: count }, (_, i) => ({ seq: from + i, note: `entry ${from + i}` }));

/** The Redis store with a lease held, committing as a partition does. */
async function redisStore(): Promise<RedisStore> {
  const store = new RedisStore(db.client, { prefix: `${db.prefix('j')}` });
  await db.client.set(store.keys.lease('0'), 'n1');
  return store;
}

function commit(store: RedisStore, entities: Array<{ address: typeof log; expectedVersion: number; state: PersistedActorState | null }>, messageId?: string) {
  return store.commit({ partition: '0', node: 'n1', ...(messageId ? { message: { id: messageId, target: log } } : {}), entries: entities, outbox: ['{"to":"x"}'], relayed: 0 });
}

describe('the Redis journal, written by the commit script with the state', () => {
  it('appends an entity’s entries in the same commit as its state, and reads them back in order', async () => {
    const store = await redisStore();
    expect(await commit(store, [{ address: log, expectedVersion: 0, state: state(2, entries(0, 2)) }], 'm1')).toEqual({ status: 'ok', versions: [1] });
    expect(await commit(store, [{ address: log, expectedVersion: 1, state: state(3, entries(2, 1)) }, { address: other, expectedVersion: 0, state: state(0) }], 'm2')).toMatchObject({ status: 'ok', versions: [2, 1] });
    expect(await store.readJournal(log)).toEqual(entries(0, 3));
    expect(await store.readJournal(log, 1, 1)).toEqual(entries(1, 1));
    expect(await store.journalLength(other)).toBe(0);
    // The state is stored without its entries: the journal is not state.
    const loaded = await store.load(log);
    expect(loaded).toEqual({ version: 2, state: state(3) });
    expect(JSON.stringify(loaded)).not.toContain('entry 0');
    expect(await store.readOutbox('0')).toHaveLength(2);
  });

  it('a commit whose journal would not end where the state says writes nothing (no state, no entry, no handled record, no outbox)', async () => {
    const store = await redisStore();
    await commit(store, [{ address: log, expectedVersion: 0, state: state(2, entries(0, 2)) }], 'm1');
    // An entry lost on the way: the state counts 4, only one comes with it.
    const result = await commit(store, [{ address: log, expectedVersion: 1, state: state(4, entries(2, 1)) }], 'm2');
    expect(result).toEqual({ status: 'conflict', index: 0, version: 1, journalLength: 2 });
    expect(await store.readJournal(log)).toEqual(entries(0, 2));
    expect(await store.load(log)).toEqual({ version: 1, state: state(2) });
    expect(await store.hasHandled(log, 'm2')).toBe(false);
    expect(await store.readOutbox('0')).toHaveLength(1);
    // Entries given twice are refused as well.
    expect(await commit(store, [{ address: log, expectedVersion: 1, state: state(3, entries(1, 2)) }])).toMatchObject({ status: 'conflict', journalLength: 2 });
  });

  it('a state written before the hash kept its journal length (no `j`) commits against the journal itself', async () => {
    const store = await redisStore();
    await commit(store, [{ address: log, expectedVersion: 0, state: state(2, entries(0, 2)) }], 'm1');
    await db.client.hdel(store.keys.state(log), 'j');
    // Refused when the entries would not end where the state says …
    expect(await commit(store, [{ address: log, expectedVersion: 1, state: state(4, entries(2, 1)) }], 'm2')).toEqual({ status: 'conflict', index: 0, version: 1, journalLength: 2 });
    // … committed when they do, and the length is kept in the hash from then on.
    expect(await commit(store, [{ address: log, expectedVersion: 1, state: state(3, entries(2, 1)) }], 'm3')).toEqual({ status: 'ok', versions: [2] });
    expect(await db.client.hget(store.keys.state(log), 'j')).toBe('2:3');
    expect(await store.readJournal(log)).toEqual(entries(0, 3));
    expect(await commit(store, [{ address: log, expectedVersion: 2, state: state(5, entries(3, 1)) }], 'm4')).toMatchObject({ status: 'conflict', journalLength: 3 });
  });

  it('a state older code rewrote (its `j` left behind at an earlier version) commits against the journal itself', async () => {
    const store = await redisStore();
    await commit(store, [{ address: log, expectedVersion: 0, state: state(2, entries(0, 2)) }], 'm1');
    // A node of the previous version commits one entry: it writes `v` and `d` only.
    await db.client.hset(store.keys.state(log), 'v', 2, 'd', JSON.stringify(state(3)));
    await db.client.rpush(store.keys.journal(log), JSON.stringify(entries(2, 1)[0]));
    expect(await commit(store, [{ address: log, expectedVersion: 2, state: state(4, entries(3, 1)) }], 'm2')).toEqual({ status: 'ok', versions: [3] });
    expect(await store.readJournal(log)).toEqual(entries(0, 4));
    expect(await store.load(log)).toEqual({ version: 3, state: state(4) });
  });

  it('a version conflict appends nothing either', async () => {
    const store = await redisStore();
    await commit(store, [{ address: log, expectedVersion: 0, state: state(1, entries(0, 1)) }]);
    expect(await commit(store, [{ address: log, expectedVersion: 0, state: state(2, entries(1, 1)) }])).toMatchObject({ status: 'conflict', index: 0, version: 1 });
    expect(await store.journalLength(log)).toBe(1);
  });

  it('takes thousands of entries in one commit (a migration moves a whole chain)', async () => {
    const store = await redisStore();
    expect(await commit(store, [{ address: log, expectedVersion: 0, state: state(2_500, entries(0, 2_500)) }])).toMatchObject({ status: 'ok' });
    const read = await store.readJournal(log);
    expect(read).toHaveLength(2_500);
    expect(read.at(-1)).toEqual({ seq: 2_499, note: 'entry 2499' });
  });

  it('a load that finds state and journal apart refuses the entity, saying what to do', async () => {
    const store = await redisStore();
    await commit(store, [{ address: log, expectedVersion: 0, state: state(2, entries(0, 2)) }]);
    await db.client.rpop(store.keys.journal(log));
    const error = await store.load(log).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JournalMismatchError);
    expect(error).toBeInstanceOf(StoredStateError); // a transport dead-letters it, as an unreadable state
    expect((error as Error).message).toMatch(/has 1 entries where its state counts 2.*restore both/);
  });

  it('deleting an entity keeps its journal, and a fresh state over it is refused rather than re-counted from 0', async () => {
    const store = await redisStore();
    await commit(store, [{ address: log, expectedVersion: 0, state: state(1, entries(0, 1)) }]);
    await store.delete(log);
    expect(await store.readJournal(log)).toEqual(entries(0, 1));
    await expect(store.load(log)).rejects.toBeInstanceOf(JournalMismatchError);
    expect(await commit(store, [{ address: log, expectedVersion: 0, state: state(1, entries(0, 1)) }])).toMatchObject({ status: 'conflict', journalLength: 1 });
  });

  it('save() takes no journal entries: they go with a commit', async () => {
    const store = await redisStore();
    await expect(store.save(log, state(1, entries(0, 1)), 0)).rejects.toThrow(/commit/);
    expect(await store.journalLength(log)).toBe(0);
  });
});

describe('the memory store’s journal, in the same step as the state', () => {
  it('appends with put and set, and stores the state without its entries', async () => {
    const store = new MemoryStore();
    expect(store.put(log, state(2, entries(0, 2)), 0)).toEqual({ ok: true, version: 1 });
    store.set(log, state(3, entries(2, 1)));
    expect(await store.readJournal(log)).toEqual(entries(0, 3));
    expect(store.journalOf(log, -1)).toEqual(entries(2, 1));
    expect(store.get(log)).toEqual({ version: 2, state: state(3) });
  });

  it('refuses a journal that would not end where the state says, storing nothing', async () => {
    const store = new MemoryStore();
    store.set(log, state(1, entries(0, 1)));
    expect(() => store.set(log, state(3, entries(1, 1)))).toThrow(JournalMismatchError);
    expect(() => store.put(log, state(1, entries(1, 1)), 1)).toThrow(JournalMismatchError);
    expect(store.get(log)).toEqual({ version: 1, state: state(1) });
    expect(await store.journalLength(log)).toBe(1);
  });

  it('keeps its own copies: changing what was handed over changes nothing stored', () => {
    const store = new MemoryStore();
    const handed = entries(0, 1);
    store.set(log, state(1, handed));
    handed[0]!.note = 'changed';
    expect(store.journalOf(log)).toEqual(entries(0, 1));
  });
});
