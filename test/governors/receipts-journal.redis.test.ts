import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { migrateReceiptsState, verifyReceipts, type AppendMessage } from '../../machines/receipts.ts';
import { marketplaceKinds } from '../../machines/index.ts';
import { startMarketplace } from '../../supervisors/marketplace.ts';
import { checkStoredChain } from '../../src/cli/cluster-reads.ts';
import { createNode } from '../../src/create-node.ts';
import { EntityHost } from '../../src/runtime/entity-host.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

/**
 * Receipts as a journal from genesis, on both stores, and the migration of states persisted by
 * the v1 layout. The fixture `test/fixtures/receipts-v1-states.json` was saved by the code this
 * branch started from (ced6e95): its `startMarketplace` with the pseudonym key below, 12 appends
 * (`genesis`: every receipt in the context) and 30 appends with `receiptsKept: 20` (`cut`: the
 * first 10 archived and stored nowhere, the anchor at receipt 9), then `market.store.get(...)`.
 */
const PSEUDONYM_KEY = 'fixture-pseudonym-key-0123456789';
const fixture = JSON.parse(readFileSync(new URL('../fixtures/receipts-v1-states.json', import.meta.url), 'utf8')) as Record<'genesis' | 'cut', PersistedActorState>;
const address = { entity: 'Receipts', key: 'c-fixture' };

const append = (i: number, customerId = 'c-fixture'): AppendMessage & Record<string, unknown> => ({
  type: 'append',
  eventId: `e-${i}`,
  customerId,
  eventType: 'UsageReported',
  occurredAt: '2026-01-05T10:00:00Z',
  committedAt: 1_767_000_000_000 + i,
  outcomes: [{ governor: 'Billing', status: 'applied' }],
});

const ids = (journal: unknown[]) => journal.map((r) => (r as { entry: { eventId: string } }).entry.eventId);
const range = (from: number, to: number) => Array.from({ length: to - from }, (_, i) => `e-${from + i}`);

const db = privateRedisForFile();

describe('every receipt from genesis, in the journal (memory store)', () => {
  it('3,000 appends to the Receipts entity: all 3,000 receipts stored and verified from genesis; the state stays small', async () => {
    const node = createNode({ name: 'receipts-3000' });
    const market = startMarketplace(node, { pseudonymKey: PSEUDONYM_KEY });
    for (let i = 0; i < 3_000; i++) node.cast(address, append(i));
    await node.settle();
    const journal = market.store.journalOf(address);
    expect(ids(journal)).toEqual(range(0, 3_000));
    expect(await market.verifyReceipts('c-fixture')).toMatchObject({ ok: true, length: 3_000, firstSeq: 0, complete: true });
    const stored = market.store.get(address)!.state;
    expect(stored.journalLength).toBe(3_000);
    expect(JSON.stringify(stored).length).toBeLessThan(3_000);
    await node.stop();
  });
});

describe('every receipt from genesis, in the journal (Redis, the commit script)', () => {
  it('the entity’s receipts go to Redis with its state, commit by commit, and verify from genesis', async () => {
    const store = new RedisStore(db.client, { prefix: `${db.prefix('r')}` });
    await db.client.set(store.keys.lease('0'), 'n1');
    const node = createNode({ name: 'receipts-redis' });
    let pending: (() => PersistedActorState) | undefined;
    new EntityHost(node, marketplaceKinds({ pseudonymKey: PSEUDONYM_KEY }).filter((k) => k.kind === 'Receipts'), { commit: (_a, persist) => void (pending = persist) });
    let version = 0;
    for (let batch = 0; batch < 30; batch++) {
      // Several steps per commit, as a partition's job or flush does.
      for (let i = batch * 100; i < (batch + 1) * 100; i++) node.cast(address, append(i));
      await node.settle();
      const result = await store.commit({ partition: '0', node: 'n1', entries: [{ address, expectedVersion: version, state: pending!() }], outbox: [], relayed: 0 });
      expect(result.status).toBe('ok');
      version++;
    }
    const journal = await store.readJournal(address);
    expect(ids(journal)).toEqual(range(0, 3_000));
    const stored = await store.load(address);
    expect(verifyReceipts((stored!.state.snapshot as { context: unknown }).context, journal)).toMatchObject({ ok: true, length: 3_000, complete: true });
    const raw = await db.client.hget(store.keys.state(address), 'd');
    expect(raw!.length).toBeLessThan(3_000);
    expect(checkStoredChain('c-fixture', raw, await db.client.lrange(store.keys.journal(address), 0, -1))).toMatchObject({ ok: true, length: 3_000 });
    await node.stop();
  });
});

describe('states of the v1 layout migrate on first load, with no lost receipt', () => {
  it('a chain from genesis: its 12 receipts move to the journal, the next appends follow, all verify from genesis', async () => {
    const store = new MemoryStore();
    store.set(address, fixture.genesis);
    const node = createNode({ name: 'migrate-genesis' });
    const market = startMarketplace(node, { pseudonymKey: PSEUDONYM_KEY, store });
    for (let i = 12; i < 15; i++) node.cast(address, append(i));
    await node.settle();
    expect(ids(store.journalOf(address))).toEqual(range(0, 15));
    // The same receipts, byte for byte, as the v1 state held.
    expect(store.journalOf(address).slice(0, 12)).toEqual((fixture.genesis.snapshot as { context: { receipts: unknown[] } }).context.receipts);
    expect(await market.verifyReceipts('c-fixture')).toMatchObject({ ok: true, length: 15, complete: true });
    const context = (store.get(address)!.state.snapshot as { context: Record<string, unknown> }).context;
    expect(context).toMatchObject({ v: 2, firstSeq: 0 });
    expect(context).not.toHaveProperty('receipts');
    expect(context).not.toHaveProperty('anchor');
    await node.stop();
  });

  it('a chain cut by the v1 archive: the log starts at receipt 10, and verification says so (never a silent ok)', async () => {
    const store = new MemoryStore();
    store.set(address, fixture.cut);
    const node = createNode({ name: 'migrate-cut' });
    const market = startMarketplace(node, { pseudonymKey: PSEUDONYM_KEY, store });
    node.cast(address, append(30));
    await node.settle();
    expect(ids(store.journalOf(address))).toEqual(range(10, 31));
    expect(await market.verifyReceipts('c-fixture')).toMatchObject({ ok: true, length: 21, firstSeq: 10, complete: false });
    await node.stop();
  });

  it('on Redis: the migrated state and its receipts commit together, and the REPL’s check names what was lost', async () => {
    const store = new RedisStore(db.client, { prefix: `${db.prefix('m')}` });
    await db.client.set(store.keys.lease('0'), 'n1');
    await db.client.hset(store.keys.state(address), 'v', 1, 'd', JSON.stringify(fixture.cut));
    // Before the migration commits, the stored v1 state is read as the chain it carries.
    expect(checkStoredChain('c-fixture', await db.client.hget(store.keys.state(address), 'd'))).toMatchObject({ ok: true, length: 20, layout: 1 });
    const loaded = await store.load(address);
    const migrated = migrateReceiptsState(loaded!.state)!;
    expect(migrated.journal).toHaveLength(20);
    // Not committed (a node died): the old state is still there, and the migration is done again.
    expect(await store.load(address)).toEqual(loaded);
    const result = await store.commit({ partition: '0', node: 'n1', entries: [{ address, expectedVersion: 1, state: { ...migrated.state, journal: migrated.journal } }], outbox: [], relayed: 0 });
    expect(result.status).toBe('ok');
    const check = checkStoredChain('c-fixture', await db.client.hget(store.keys.state(address), 'd'), await db.client.lrange(store.keys.journal(address), 0, -1));
    expect(check).toMatchObject({ ok: true, length: 20, firstSeq: 10, complete: false, note: expect.stringMatching(/receipts 0–9 were archived .* stored nowhere/) });
    // A migrated state is left alone.
    expect(migrateReceiptsState((await store.load(address))!.state)).toBeUndefined();
  });
});
