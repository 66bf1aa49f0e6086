/**
 * The partition's timer index, written by the commit script with the states: after any commit it
 * holds exactly the committed entities that have a timer, each at its earliest deadline, whatever
 * the mix of entities in the commit (timers set, moved, cleared, states deleted) and however many
 * (a flush may commit thousands at once: the script sends the index's changes in slices).
 */
import { describe, expect, it } from 'vitest';
import type { EntityAddress } from '../../src/index.ts';
import { PERSISTED_STATE_VERSION, type PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

const db = privateRedisForFile();

const at = (key: string): EntityAddress => ({ entity: 'Billing', key });

function state(...deadlines: number[]): PersistedActorState {
  return {
    version: PERSISTED_STATE_VERSION,
    machine: 'billing',
    snapshot: { status: 'active', value: 'Active', context: {} },
    timers: deadlines.map((deadline, i) => ({ name: `t${i}`, kind: 'after', deadline, event: { type: 'tick' } })) as unknown as PersistedActorState['timers'],
    postponed: [],
  };
}

/** The Redis store with partition 0's lease held, committing as a partition does. */
async function redisStore(): Promise<RedisStore> {
  const store = new RedisStore(db.client, { prefix: `${db.prefix('ti')}` });
  await db.client.set(store.keys.lease('0'), 'n1');
  return store;
}

async function commit(store: RedisStore, entries: { address: EntityAddress; expectedVersion: number; state: PersistedActorState | null; committed?: PersistedActorState }[]) {
  const result = await store.commit({ partition: '0', node: 'n1', entries, outbox: [], relayed: 0 });
  expect(result).toMatchObject({ status: 'ok' });
}

/** The index as member → deadline. */
async function index(store: RedisStore): Promise<Record<string, number>> {
  const flat = await db.client.zrange(store.keys.timers('0'), 0, -1, 'WITHSCORES');
  const found: Record<string, number> = {};
  for (let i = 0; i < flat.length; i += 2) found[flat[i]!] = Number(flat[i + 1]);
  return found;
}

describe('the timer index, written with the states', () => {
  it('holds each committed entity with a timer at its earliest deadline, and no entity without one', async () => {
    const store = await redisStore();
    await commit(store, [
      { address: at('a'), expectedVersion: 0, state: state(5_000, 2_000) },
      { address: at('b'), expectedVersion: 0, state: state() },
      { address: at('c'), expectedVersion: 0, state: state(9_000) },
    ]);
    expect(await index(store)).toEqual({ [store.keys.timerMember(at('a'))]: 2_000, [store.keys.timerMember(at('c'))]: 9_000 });

    // a's timer moves, b gets one, c's is cleared: one commit, every change.
    await commit(store, [
      { address: at('a'), expectedVersion: 1, state: state(7_000) },
      { address: at('b'), expectedVersion: 1, state: state(1_000) },
      { address: at('c'), expectedVersion: 1, state: state() },
    ]);
    expect(await index(store)).toEqual({ [store.keys.timerMember(at('a'))]: 7_000, [store.keys.timerMember(at('b'))]: 1_000 });

    // A deleted state leaves the index, timers or not; one left out of the commit stays as it was.
    await commit(store, [{ address: at('a'), expectedVersion: 2, state: null }]);
    expect(await index(store)).toEqual({ [store.keys.timerMember(at('b'))]: 1_000 });
  });

  it('takes thousands of entities in one commit, as a flush may bring', async () => {
    const store = await redisStore();
    const count = 2_600;
    const keys = Array.from({ length: count }, (_, i) => `k${i}`);
    await commit(store, keys.map((key, i) => ({ address: at(key), expectedVersion: 0, state: state(10_000 + i) })));
    const found = await index(store);
    expect(Object.keys(found)).toHaveLength(count);
    expect(found[store.keys.timerMember(at('k2599'))]).toBe(12_599);

    // All cleared at once but one.
    await commit(store, keys.map((key) => ({ address: at(key), expectedVersion: 1, state: key === 'k7' ? state(3) : state() })));
    expect(await index(store)).toEqual({ [store.keys.timerMember(at('k7'))]: 3 });
  });

  it('is not touched for a state without a timer before (as this store handed it out) nor after: no command for nothing', async () => {
    const store = await redisStore();
    const before = state();
    await commit(store, [{ address: at('a'), expectedVersion: 0, state: before }]);
    const removals = await zremCalls();
    await commit(store, [{ address: at('a'), expectedVersion: 1, state: { ...state(), machine: 'billing-2' }, committed: before }]);
    expect(await zremCalls()).toBe(removals);
    // A state not known as stored (no `committed`, or one this store never handed out) changes the index as ever.
    await commit(store, [{ address: at('a'), expectedVersion: 2, state: state(), committed: state(4_000) }]);
    expect(await zremCalls()).toBe(removals + 1);
    // A timer that goes, or comes, still does.
    const loaded = (await store.load(at('a')))!;
    await commit(store, [{ address: at('a'), expectedVersion: 3, state: state(6_000), committed: loaded.state }]);
    expect(await index(store)).toEqual({ [store.keys.timerMember(at('a'))]: 6_000 });
    const withTimer = (await store.load(at('a')))!;
    await commit(store, [{ address: at('a'), expectedVersion: 4, state: state(), committed: withTimer.state }]);
    expect(await index(store)).toEqual({});
  });
});

/** How many ZREMs Redis has run so far (a script's included). */
async function zremCalls(): Promise<number> {
  const info = (await db.client.info('commandstats')) as string;
  return Number(/^cmdstat_zrem:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}
