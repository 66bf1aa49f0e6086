/**
 * The memory store's bookkeeping as its callers see it: one entry per entity holds its state,
 * journal and records (README, Memory), so what one of them does must not disturb the others.
 */
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/store/memory-store.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';

const state = (count: number, extra: Partial<PersistedActorState> = {}): PersistedActorState =>
  ({ version: 9, machine: 'm', snapshot: { status: 'active', value: 'A', context: { count } }, timers: [], postponed: [], ...extra }) as PersistedActorState;
const a = { entity: 'Billing', key: 'c1' };
const b = { entity: 'Billing', key: 'c2' };

describe('records', () => {
  it('keeps every record, the latest value of each, past the few kept as a list', () => {
    const store = new MemoryStore();
    const records: Record<string, unknown> = {};
    for (let i = 0; i < 20; i++) records[`r${i}`] = { n: i };
    store.set(a, { ...state(1), records } as PersistedActorState);
    store.set(a, { ...state(2), records: { r3: { n: 'again' }, r20: null } } as PersistedActorState);

    expect(store.recordCount(a)).toBe(21);
    expect(store.record(a, 'r0')).toEqual({ n: 0 });
    expect(store.record(a, 'r3')).toEqual({ n: 'again' });
    expect(store.record(a, 'r19')).toEqual({ n: 19 });
    expect(store.record(a, 'r20')).toBeNull();
    expect(store.record(a, 'missing')).toBeUndefined();
    expect(Object.keys(store.allRecords(a))).toHaveLength(21);
    expect(store.recordCount(b)).toBe(0);
  });

  it('overwrites a record among a few without adding one, and gives copies', () => {
    const store = new MemoryStore();
    store.set(a, { ...state(1), records: { x: { v: 1 }, y: { v: 2 } } } as PersistedActorState);
    store.set(a, { ...state(2), records: { y: { v: 3 } } } as PersistedActorState);
    const read = store.record(a, 'y') as { v: number };
    read.v = 99;
    expect(store.allRecords(a)).toEqual({ x: { v: 1 }, y: { v: 3 } });
  });
});

describe('states beside journals and records', () => {
  it('deletes a state and keeps its journal and records; keys and size count states only', async () => {
    const store = new MemoryStore();
    store.set(a, { ...state(1, { journalLength: 2 }), journal: ['e1', 'e2'], records: { k: 1 } } as PersistedActorState);
    store.set(b, state(5));
    store.set(b, state(6));
    expect(store.keys('Billing').sort()).toEqual(['c1', 'c2']);
    expect(store.size).toBe(2);

    await store.delete(a);

    expect(store.get(a)).toBeUndefined();
    expect(store.versionOf(a)).toBe(0);
    expect(store.keys('Billing')).toEqual(['c2']);
    expect(store.size).toBe(1);
    expect(store.journalOf(a)).toEqual(['e1', 'e2']);
    expect(store.record(a, 'k')).toBe(1);
    expect(store.get(b)?.state.snapshot).toMatchObject({ context: { count: 6 } });
  });

  it('keeps versions per entity, refusing a stale put', () => {
    const store = new MemoryStore();
    expect(store.put(a, state(1), 0)).toEqual({ ok: true, version: 1 });
    expect(store.put(b, state(1), 0)).toEqual({ ok: true, version: 1 });
    expect(store.put(a, state(2), 0)).toEqual({ ok: false, conflict: true, version: 1 });
    expect(store.put(a, state(2), 1)).toEqual({ ok: true, version: 2 });
    expect(store.get(a)).toMatchObject({ version: 2, state: { snapshot: { context: { count: 2 } } } });
  });
});
