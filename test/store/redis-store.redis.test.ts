import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PERSISTED_STATE_VERSION, type PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { StoredStateError } from '../../src/store/redis-errors.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

const db = privateRedisForFile();

/** A store under a prefix of its own, so tests never see each other's keys. */
function freshStore(options: { handledLimit?: number } = {}): RedisStore {
  return new RedisStore(db.client, { prefix: `${db.prefix('s')}`, ...options });
}

function state(count: number): PersistedActorState {
  return {
    version: PERSISTED_STATE_VERSION,
    machine: 'counter',
    snapshot: { status: 'active', value: 'idle', context: { count } },
    timers: [{ name: 'state:idle', kind: 'state', deadline: 1_000 + count, event: { type: 'tick' } }],
    postponed: [],
  };
}

const billing = { entity: 'Billing', key: 'customer-1' };

describe('versions and optimistic concurrency', () => {
  it('saves at version 1, then only at the version read', async () => {
    const store = freshStore();
    expect(await store.load(billing)).toBeUndefined();
    expect(await store.save(billing, state(1), 0)).toEqual({ ok: true, version: 1 });
    expect(await store.save(billing, state(2), 1)).toEqual({ ok: true, version: 2 });
    expect(await store.save(billing, state(3), 1)).toEqual({ ok: false, conflict: true, version: 2 });
    expect(await store.save({ ...billing, key: 'customer-2' }, state(9), 3)).toEqual({ ok: false, conflict: true, version: 0 });
    expect(await store.load(billing)).toEqual({ version: 2, state: state(2) });
  });

  it('keeps timer deadlines with the snapshot', async () => {
    const store = freshStore();
    await store.save(billing, state(5), 0);
    const loaded = await store.load(billing);
    expect(loaded?.state.timers).toEqual([{ name: 'state:idle', kind: 'state', deadline: 1_005, event: { type: 'tick' } }]);
  });

  it('deletes the state and its handled records', async () => {
    const store = freshStore();
    await store.save(billing, state(1), 0);
    await db.client.set(store.keys.lease('0'), 'n1');
    await store.commit({ partition: '0', node: 'n1', message: { id: 'm1', target: billing }, entries: [], outbox: [], relayed: 0 });
    expect(await store.hasHandled(billing, 'm1')).toBe(true);
    await store.delete(billing);
    expect(await store.load(billing)).toBeUndefined();
    expect(await store.hasHandled(billing, 'm1')).toBe(false);
  });

  it('loads many in one round trip', async () => {
    const store = freshStore();
    await store.save(billing, state(1), 0);
    const other = { entity: 'Quota', key: 'customer-1' };
    expect(await store.loadMany([other, billing])).toEqual([undefined, { version: 1, state: state(1) }]);
  });
});

describe('schema versions', () => {
  it('refuses a state written under another schema version, saying what to do', async () => {
    const store = freshStore();
    await db.client.hset(store.keys.state(billing), 'v', 1, 'd', JSON.stringify({ ...state(1), version: 99 }));
    const error = await store.load(billing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(StoredStateError);
    expect((error as StoredStateError).code).toBe('STORED_STATE_VERSION');
    expect((error as Error).message).toMatch(/schema version 99, but this Governor reads version 1: run the Governor version that wrote it, or migrate/);
  });

  it('refuses something that is not a state at all', async () => {
    const store = freshStore();
    await db.client.hset(store.keys.state(billing), 'v', 1, 'd', '{not json');
    await expect(store.load(billing)).rejects.toMatchObject({ code: 'STORED_STATE_CORRUPT' });
  });
});

describe('the commit script', () => {
  it('writes states, the handled record and the outbox together, fenced by the lease', async () => {
    const store = freshStore();
    await db.client.set(store.keys.lease('3'), 'n1');
    const quota = { entity: 'Quota', key: 'customer-1' };
    const result = await store.commit({
      partition: '3',
      node: 'n1',
      message: { id: 'm1', target: billing },
      entries: [
        { address: billing, expectedVersion: 0, state: state(1) },
        { address: quota, expectedVersion: 0, state: state(7) },
      ],
      outbox: ['a', 'b'],
      relayed: 0,
    });
    expect(result).toEqual({ status: 'ok', versions: [1, 1] });
    expect(await store.readOutbox('3')).toEqual(['a', 'b']);
    expect(await store.hasHandled(billing, 'm1')).toBe(true);

    // The same message again: nothing is written.
    const again = await store.commit({
      partition: '3',
      node: 'n1',
      message: { id: 'm1', target: billing },
      entries: [{ address: billing, expectedVersion: 1, state: state(2) }],
      outbox: ['c'],
      relayed: 0,
    });
    expect(again).toEqual({ status: 'duplicate' });
    expect((await store.load(billing))?.version).toBe(1);
    expect(await store.readOutbox('3')).toEqual(['a', 'b']);

    // A stale version: nothing is written, the conflicting entity is named.
    const stale = await store.commit({
      partition: '3',
      node: 'n1',
      message: { id: 'm2', target: billing },
      entries: [
        { address: billing, expectedVersion: 1, state: state(2) },
        { address: quota, expectedVersion: 0, state: state(8) },
      ],
      outbox: [],
      relayed: 0,
    });
    expect(stale).toEqual({ status: 'conflict', index: 1, version: 1 });
    expect(await store.hasHandled(billing, 'm2')).toBe(false);

    // Another holder of the lease: nothing is written.
    await db.client.set(store.keys.lease('3'), 'n2');
    const lost = await store.commit({ partition: '3', node: 'n1', entries: [], outbox: ['x'], relayed: 0 });
    expect(lost).toEqual({ status: 'lost', holder: 'n2' });
    expect(await store.readOutbox('3')).toEqual(['a', 'b']);

    // A flush (no message) drops relayed entries and deletes a stopped entity.
    const flushed = await store.commit({
      partition: '3',
      node: 'n2',
      entries: [{ address: quota, expectedVersion: 1, state: null }],
      outbox: ['c'],
      relayed: 1,
    });
    expect(flushed).toEqual({ status: 'ok', versions: [0] });
    expect(await store.readOutbox('3')).toEqual(['b', 'c']);
    expect(await store.load(quota)).toBeUndefined();
  });

  it('deletes the lock of the job completing behind a commit that does not happen, and only then', async () => {
    const store = freshStore();
    const lock = store.keys.jobLock('p.0', 'job-1');
    const job = { queue: 'p.0', id: 'job-1', token: 'token-1' };
    await db.client.set(store.keys.lease('0'), 'n1');

    await db.client.set(lock, 'token-1');
    const ok = await store.commit({ partition: '0', node: 'n1', message: { id: 'm1', target: billing }, entries: [], outbox: [], relayed: 0, job });
    expect(ok.status).toBe('ok');
    expect(await db.client.get(lock)).toBe('token-1');
    // A duplicate completes: its effects are in Redis already.
    const duplicate = await store.commit({ partition: '0', node: 'n1', message: { id: 'm1', target: billing }, entries: [], outbox: [], relayed: 0, job });
    expect(duplicate.status).toBe('duplicate');
    expect(await db.client.get(lock)).toBe('token-1');
    // A conflict must not complete: the lock goes, so BullMQ's completion fails and the job comes back.
    const conflict = await store.commit({
      partition: '0',
      node: 'n1',
      message: { id: 'm2', target: billing },
      entries: [{ address: billing, expectedVersion: 7, state: state(1) }],
      outbox: [],
      relayed: 0,
      job,
    });
    expect(conflict.status).toBe('conflict');
    expect(await db.client.get(lock)).toBeNull();
    // Nor a lost lease; and a lock of another worker (another token) is left alone.
    await db.client.set(lock, 'token-2');
    await db.client.set(store.keys.lease('0'), 'n2');
    const lost = await store.commit({ partition: '0', node: 'n1', message: { id: 'm3', target: billing }, entries: [], outbox: [], relayed: 0, job });
    expect(lost).toEqual({ status: 'lost', holder: 'n2' });
    expect(await db.client.get(lock)).toBe('token-2');
    await db.client.set(lock, 'token-1');
    await store.commit({ partition: '0', node: 'n1', message: { id: 'm4', target: billing }, entries: [], outbox: [], relayed: 0, job });
    expect(await db.client.get(lock)).toBeNull();
  });

  it('keeps the most recent handled ids, trimming every 32nd', async () => {
    const store = freshStore({ handledLimit: 3 });
    await db.client.set(store.keys.lease('0'), 'n1');
    for (let i = 1; i <= 40; i++) {
      await store.commit({ partition: '0', node: 'n1', message: { id: `m${i}`, target: billing, score: i }, entries: [], outbox: [], relayed: 0 });
    }
    // Trimmed to 3 at the 32nd, then 8 more.
    expect(await db.client.zrange(store.keys.handled(billing), 0, -1)).toEqual(['m30', 'm31', 'm32', ...Array.from({ length: 8 }, (_, i) => `m${33 + i}`)]);
    expect(await store.hasHandled(billing, 'm29')).toBe(false);
  });

  it('forgets the handled record of a message whose commit conflicted', async () => {
    const store = freshStore();
    await db.client.set(store.keys.lease('0'), 'n1');
    const conflict = await store.commit({
      partition: '0',
      node: 'n1',
      message: { id: 'm1', target: billing },
      entries: [{ address: billing, expectedVersion: 3, state: state(1) }],
      outbox: [],
      relayed: 0,
    });
    expect(conflict.status).toBe('conflict');
    expect(await store.hasHandled(billing, 'm1')).toBe(false);
  });

  it('commits thousands of outbox entries at once', async () => {
    const store = freshStore();
    await db.client.set(store.keys.lease('0'), 'n1');
    const outbox = Array.from({ length: 2_500 }, (_, i) => `m${i}`);
    expect(await store.commit({ partition: '0', node: 'n1', entries: [], outbox, relayed: 0 })).toEqual({ status: 'ok', versions: [] });
    expect(await store.readOutbox('0')).toEqual(outbox);
  });
});

/** How many HSETs Redis has run so far (a script's included): a write shows, whatever the load. */
async function hsetCalls(): Promise<number> {
  const info = (await db.client.info('commandstats')) as string;
  return Number(/^cmdstat_hset:calls=(\d+)/m.exec(info)?.[1] ?? 0);
}

describe('unchanged states, kept as stored', () => {
  it('a state that serializes as the one loaded is not rewritten and keeps its version', async () => {
    const store = freshStore();
    await db.client.set(store.keys.lease('0'), 'n1');
    await store.commit({ partition: '0', node: 'n1', entries: [{ address: billing, expectedVersion: 0, state: state(1) }], outbox: [], relayed: 0 });
    const loaded = (await store.load(billing))!;
    const before = await hsetCalls();
    const kept = await store.commit({ partition: '0', node: 'n1', message: { id: 'm1', target: billing }, entries: [{ address: billing, expectedVersion: 1, state: state(1), committed: loaded.state }], outbox: ['x'], relayed: 0 });
    expect(kept).toEqual({ status: 'ok', versions: [1] });
    expect(await hsetCalls()).toBe(before);
    // The rest of the commit happened.
    expect(await store.hasHandled(billing, 'm1')).toBe(true);
    expect(await store.readOutbox('0')).toEqual(['x']);
    expect(await store.load(billing)).toEqual({ version: 1, state: state(1) });
  });

  it('a changed state, or one given without the state it was read at, is written at the next version', async () => {
    const store = freshStore();
    await db.client.set(store.keys.lease('0'), 'n1');
    await store.commit({ partition: '0', node: 'n1', entries: [{ address: billing, expectedVersion: 0, state: state(1) }], outbox: [], relayed: 0 });
    const loaded = (await store.load(billing))!;
    expect(await store.commit({ partition: '0', node: 'n1', entries: [{ address: billing, expectedVersion: 1, state: state(1) }], outbox: [], relayed: 0 })).toEqual({ status: 'ok', versions: [2] });
    expect(await store.commit({ partition: '0', node: 'n1', entries: [{ address: billing, expectedVersion: 2, state: state(2), committed: loaded.state }], outbox: [], relayed: 0 })).toEqual({ status: 'ok', versions: [3] });
    expect(await store.load(billing)).toEqual({ version: 3, state: state(2) });
  });

  it('the state an earlier commit wrote counts as read: committing it again keeps it', async () => {
    const store = freshStore();
    await db.client.set(store.keys.lease('0'), 'n1');
    const first = state(1);
    await store.commit({ partition: '0', node: 'n1', entries: [{ address: billing, expectedVersion: 0, state: first }], outbox: [], relayed: 0 });
    expect(await store.commit({ partition: '0', node: 'n1', entries: [{ address: billing, expectedVersion: 1, state: state(1), committed: first }], outbox: [], relayed: 0 })).toEqual({ status: 'ok', versions: [1] });
  });

  it('a kept state is still checked at its version: another writer in between is a conflict, and nothing is written', async () => {
    const store = freshStore();
    await db.client.set(store.keys.lease('0'), 'n1');
    await store.commit({ partition: '0', node: 'n1', entries: [{ address: billing, expectedVersion: 0, state: state(1) }], outbox: [], relayed: 0 });
    const loaded = (await store.load(billing))!;
    await store.save(billing, state(7), 1);
    const result = await store.commit({ partition: '0', node: 'n1', message: { id: 'm1', target: billing }, entries: [{ address: billing, expectedVersion: 1, state: state(1), committed: loaded.state }], outbox: ['x'], relayed: 0 });
    expect(result).toMatchObject({ status: 'conflict', index: 0, version: 2 });
    expect(await store.hasHandled(billing, 'm1')).toBe(false);
    expect(await store.readOutbox('0')).toEqual([]);
    expect(await store.load(billing)).toEqual({ version: 2, state: state(7) });
  });

  it('a target that stays at one version still has its handled ids trimmed', async () => {
    const store = freshStore({ handledLimit: 3 });
    await db.client.set(store.keys.lease('0'), 'n1');
    await store.commit({ partition: '0', node: 'n1', entries: [{ address: billing, expectedVersion: 0, state: state(1) }], outbox: [], relayed: 0 });
    const loaded = (await store.load(billing))!;
    // Every message leaves the target as it was: its score is 2 each time, never a multiple of 32.
    for (let i = 0; i < 300; i++) {
      const id = `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`;
      const result = await store.commit({ partition: '0', node: 'n1', message: { id, target: billing, score: 2 }, entries: [{ address: billing, expectedVersion: 1, state: state(1), committed: loaded.state }], outbox: [], relayed: 0 });
      expect(result).toEqual({ status: 'ok', versions: [1] });
    }
    expect(await db.client.zcard(store.keys.handled(billing))).toBeLessThan(100);
  });
});

describe('key encoding', () => {
  // Keys crafted from the characters that could make two entities share a Redis key if joined naively.
  const tricky = fc.stringMatching(/^[a-z:%{}\\/ .\-_\u00e9\u{1F600}]{1,12}$/u);
  const kind = fc.constantFrom('A', 'A_b', 'Ab', 'B-1', 'Billing');

  it('gives two different (kind, key) pairs two different state keys', () => {
    const keys = new RedisKeys('{governor}');
    fc.assert(
      fc.property(kind, tricky, kind, tricky, (k1, key1, k2, key2) => {
        fc.pre(k1 !== k2 || key1 !== key2);
        const a = { entity: k1, key: key1 };
        const b = { entity: k2, key: key2 };
        expect(keys.state(a)).not.toBe(keys.state(b));
        expect(keys.handled(a)).not.toBe(keys.handled(b));
      }),
      { numRuns: 2_000 },
    );
  });

  it('stores and loads entities whose keys differ only by separators, each apart', async () => {
    const store = freshStore();
    await fc.assert(
      fc.asyncProperty(fc.uniqueArray(tricky, { minLength: 2, maxLength: 6 }), async (keys) => {
        const addresses = keys.map((key) => ({ entity: 'A', key }));
        await Promise.all(addresses.map((address) => store.delete(address)));
        for (const [i, address] of addresses.entries()) expect(await store.save(address, state(i), 0)).toEqual({ ok: true, version: 1 });
        const loaded = await store.loadMany(addresses);
        expect(loaded.map((s) => (s?.state.snapshot as { context: { count: number } }).context.count)).toEqual(keys.map((_, i) => i));
      }),
      { numRuns: 40 },
    );
  });

  it('refuses an entity address that is not a kind and a key', () => {
    const keys = new RedisKeys('{governor}');
    expect(() => keys.state({ entity: 'a:b', key: 'x' })).toThrow(/entity must be a kind name/);
    expect(() => keys.state({ entity: 'A', key: '' })).toThrow(/key must be a string/);
  });
});
