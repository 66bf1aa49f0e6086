/**
 * Handled-event records on BullMQ, attacked: states of the layout before migrate on first load
 * (none lost, `--wait`'s reader finds them before and after), a key reused for other content after
 * a restart is refused, and a records key holding junk dead-letters the event with the reason —
 * never a fresh decision.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { HandledEvent } from '../../machines/handled-events.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import type { Outcome } from '../../machines/orchestrator.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { readOutcomes } from '../../src/cli/enqueue/outcome-record.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import type { BullmqNode } from '../../src/transport/bullmq/index.ts';
import { eventually } from '../transport/conformance.ts';
import { privateRedisForFile } from '../support/private-redis.ts';
import { startMarketplaceNode } from '../support/marketplace-node.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/handled-v1-states.json', import.meta.url), 'utf8')) as {
  customerId: string;
  events: LifecycleEvent[];
  states: Record<string, PersistedActorState>;
};

const db = privateRedisForFile();

const start = (prefix: string, name: string): Promise<BullmqNode> => startMarketplaceNode(db.redis.url, prefix, name, { partitions: 2, pseudonymKey: 'handled-v1-fixture-pseudonym-key' });

const lifecycle = (event: LifecycleEvent) => ({ type: 'lifecycle', event, receivedAt: Date.now() });
const call = (node: BullmqNode, event: LifecycleEvent) => node.node.call<Outcome>({ entity: 'Orchestrator', key: event.customerId }, lifecycle(event), { timeout: 30_000 });
const subscribe = (customerId: string, eventId: string, sku = 'PRO-MONTHLY'): LifecycleEvent =>
  ({ eventId, customerId, occurredAt: new Date().toISOString(), type: 'CustomerSubscribes', sku, tier: 'professional' }) as LifecycleEvent;

describe('handled-event records on BullMQ', () => {
  it('migrate from states saved with the handled list: read before and after, and every old event is a duplicate of its original outcome', async () => {
    const prefix = `${db.redis.prefix}-migrate`;
    const keys = new RedisKeys(prefix, { partitions: 2 });
    const store = new RedisStore(db.redis.client(), { prefix, partitions: 2 });
    for (const [kind, state] of Object.entries(fixture.states)) await store.save({ entity: kind, key: fixture.customerId }, state, 0);
    const handled = (fixture.states['Orchestrator']!.snapshot as { context: { handled: HandledEvent[] } }).context.handled;
    const expected = new Map(handled.map(({ eventId, digest: _d, ...outcome }) => [eventId, outcome]));
    const wanted = handled.map((h) => ({ customerId: fixture.customerId, eventId: h.eventId }));
    // Before any node loads the state: `--wait`'s reader finds them in the state's list.
    expect(await readOutcomes(db.redis.client(), keys, wanted)).toEqual(expected);

    const node = await start(prefix, 'migrating');
    try {
      for (const h of handled) {
        const event = fixture.events.find((e) => e.eventId === h.eventId)!;
        expect(await call(node, event), h.eventId).toEqual({ status: 'duplicate', eventId: h.eventId, original: expected.get(h.eventId) });
      }
      await node.transport.settled();
    } finally {
      await node.stop({ timeoutMs: 2_000 });
    }
    const state = await db.redis.client().hget(keys.state({ entity: 'Orchestrator', key: fixture.customerId }), 'd');
    expect(JSON.parse(state!).snapshot.context).not.toHaveProperty('handled');
    expect(await db.redis.client().hlen(keys.records({ entity: 'Orchestrator', key: fixture.customerId }))).toBe(handled.length);
    expect(await readOutcomes(db.redis.client(), keys, wanted)).toEqual(expected);
  });

  it('refuse a key reused for other content after a restart (IDEMPOTENCY_KEY_REUSED), changing nothing', async () => {
    const prefix = `${db.redis.prefix}-reused`;
    const keys = new RedisKeys(prefix, { partitions: 2 });
    const first = await start(prefix, 'first');
    try {
      expect(await call(first, subscribe('c-r', 'e-1'))).toMatchObject({ status: 'completed' });
      await first.transport.settled();
    } finally {
      await first.stop({ timeoutMs: 2_000 });
    }
    const before = await db.redis.client().hget(keys.state({ entity: 'Orchestrator', key: 'c-r' }), 'd');
    const second = await start(prefix, 'second');
    try {
      await expect(call(second, subscribe('c-r', 'e-1', 'ENT-MONTHLY'))).rejects.toThrow(/IDEMPOTENCY_KEY_REUSED/);
      const letters = await eventually(async () => {
        const all = await second.transport.listDeadLetters();
        if (all.length === 0) throw new Error('the reused key is not dead-lettered yet');
        return all;
      }, 15_000);
      expect(letters[0]!.reason).toMatch(/IDEMPOTENCY_KEY_REUSED: eventId "e-1" of customer "c-r"/);
      // The same content again is still a duplicate of the original.
      expect(await call(second, subscribe('c-r', 'e-1'))).toMatchObject({ status: 'duplicate', original: { status: 'completed' } });
      await second.transport.settled();
    } finally {
      await second.stop({ timeoutMs: 2_000 });
    }
    const after = JSON.parse((await db.redis.client().hget(keys.state({ entity: 'Orchestrator', key: 'c-r' }), 'd'))!);
    expect(after.snapshot.context.stats).toEqual({ ...JSON.parse(before!).snapshot.context.stats, duplicates: 1 });
  });

  it.each([
    ['holds another type than a hash', async (redisKey: string) => void (await db.redis.client().set(redisKey, 'junk')), /RECORD_UNREADABLE|another type than a hash/],
    ['holds a record that is not JSON', async (redisKey: string) => void (await db.redis.client().hset(redisKey, 'e-junk', '{not json')), /not JSON/],
  ])('dead-letter an event whose records key %s, with the reason, deciding nothing', async (_what, spoil, reason) => {
    const prefix = `${db.redis.prefix}-junk-${Math.random().toString(36).slice(2, 8)}`;
    const keys = new RedisKeys(prefix, { partitions: 2 });
    const customer = 'c-junk';
    await spoil(keys.records({ entity: 'Orchestrator', key: customer }));
    const node = await start(prefix, 'junk');
    try {
      // (A call: a node's own cast would carry a message id the Orchestrator kind refuses.)
      const answer = node.node
        .call<Outcome>({ entity: 'Orchestrator', key: customer }, lifecycle(subscribe(customer, 'e-junk')), { timeout: 5_000 })
        .then((outcome) => ({ outcome }), (error: unknown) => ({ error }));
      const letters = await eventually(async () => {
        const all = await node.transport.listDeadLetters();
        if (all.length === 0) throw new Error('the event is not dead-lettered yet');
        return all;
      }, 15_000);
      expect(letters[0]!.reason, letters[0]!.reason).toMatch(reason);
      expect(letters[0]!.reason).toMatch(/restore the key from a backup/);
      expect(await answer).not.toHaveProperty('outcome'); // never answered as if decided
      await node.transport.settled();
    } finally {
      await node.stop({ timeoutMs: 2_000 });
    }
    // Nothing was decided: no state, no governor touched, no receipt.
    for (const kind of ['Orchestrator', 'Entitlement', 'Billing', 'Receipts']) expect(await db.redis.client().exists(keys.state({ entity: kind, key: customer })), kind).toBe(0);
  });
});
