/**
 * Usage idempotency keys and applied payments as keyed records beside Billing's and QuotaSla's
 * states (`usage:<key>`, `payment:<id>`), on BullMQ with a real Redis: a usage report or a payment
 * sent again under a new event id is recognised after the nodes restart (read from the records
 * hash, not from the state), and states saved by the code that kept them in the governors' data
 * (fixture saved at 659df48) migrate on first load, every key and payment still recognised.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import type { Outcome } from '../../machines/orchestrator.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import type { BullmqNode } from '../../src/transport/bullmq/index.ts';
import { privateRedisForFile } from '../support/private-redis.ts';
import { startMarketplaceNode } from '../support/marketplace-node.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/usage-v1-states.json', import.meta.url), 'utf8')) as {
  customerId: string;
  events: LifecycleEvent[];
  states: Record<string, PersistedActorState>;
  records: Record<string, Record<string, unknown>>;
};

const PARTITIONS = 2;
const db = privateRedisForFile();

const start = (prefix: string, name: string): Promise<BullmqNode> => startMarketplaceNode(db.redis.url, prefix, name, { partitions: PARTITIONS, pseudonymKey: 'usage-v1-fixture-pseudonym-key' });

const call = (node: BullmqNode, event: LifecycleEvent) =>
  node.node.call<Outcome & { replies?: { governor: string; status: string; reason?: string }[] }>(
    { entity: 'Orchestrator', key: event.customerId },
    { type: 'lifecycle', event, receivedAt: Date.now() },
    { timeout: 30_000 },
  );
const DAY = 86_400_000;
const ago = (days: number) => new Date(Date.now() - days * DAY).toISOString();

/** The governor's committed state and records, as Redis holds them. */
async function committed(keys: RedisKeys, kind: string, customerId: string) {
  const address = { entity: kind, key: customerId };
  const state = JSON.parse((await db.redis.client().hget(keys.state(address), 'd'))!) as { snapshot: { context: { data: Record<string, unknown> & { ledger: Record<string, unknown> } } } };
  const records = Object.fromEntries(Object.entries(await db.redis.client().hgetall(keys.records(address))).map(([field, text]) => [field, JSON.parse(text) as unknown]));
  return { data: state.snapshot.context.data, records };
}

describe('usage keys and payments as records on BullMQ', () => {
  it('recognise a usage report and a payment sent again under new event ids after a restart, the data carrying neither', async () => {
    const prefix = `${db.redis.prefix}-restart`;
    const keys = new RedisKeys(prefix, { partitions: PARTITIONS });
    const customerId = 'stays';
    const event = (eventId: string, at: string, fields: Record<string, unknown>) => ({ eventId, customerId, occurredAt: at, ...fields }) as LifecycleEvent;
    // A trial of 14 days, then a monthly cycle: its renewal opens on day 37.
    const subscribe = event('sub', ago(40), { type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' });
    const usage = event('use-1', ago(39), { type: 'UsageRecorded', metric: 'executions', quantity: 5, idempotencyKey: 'u-1' });
    const renewal = event('renew', ago(2), { type: 'RenewalDue', subscriptionId: 'sub' });
    const payment = event('pay', ago(1), { type: 'PaymentProcessed', amount: '99.00', currency: 'USD', paymentId: 'pay-1' });
    const first = await start(prefix, 'first');
    try {
      for (const e of [subscribe, usage, renewal, payment]) expect(await call(first, e), e.eventId).toMatchObject({ status: 'completed' });
      await first.transport.settled();
    } finally {
      await first.stop({ timeoutMs: 2_000 });
    }
    const before = { billing: await committed(keys, 'Billing', customerId), quota: await committed(keys, 'QuotaSla', customerId) };
    expect(before.billing.records).toMatchObject({ 'usage:u-1': 'executions=5', 'payment:pay-1': '99.00' });
    expect(before.quota.records).toMatchObject({ 'usage:u-1': 'executions=5' });
    for (const { data } of [before.billing, before.quota]) {
      expect(data.ledger).not.toHaveProperty('seen');
      expect(data.ledger).not.toHaveProperty('previousSeen');
    }
    expect(before.billing.data).not.toHaveProperty('payments');

    // Another node, nothing in memory: the keys come from the records hash.
    const second = await start(prefix, 'second');
    try {
      const again = await call(second, { ...usage, eventId: 'use-1-again', occurredAt: ago(0) });
      expect(again.status).toBe('completed');
      expect(again.replies).toEqual([
        expect.objectContaining({ governor: 'QuotaSla', status: 'not_applicable', reason: expect.stringMatching(/usage u-1 is counted already/) }),
        expect.objectContaining({ governor: 'Billing', status: 'not_applicable', reason: expect.stringMatching(/usage u-1 is recorded already/) }),
      ]);
      expect(await call(second, { ...usage, eventId: 'use-1-other', occurredAt: ago(0), quantity: 6 })).toMatchObject({
        status: 'rejected',
        reason: expect.stringMatching(/idempotency key "u-1" was first used for executions=5/),
      });
      expect(await call(second, { ...payment, eventId: 'pay-again', occurredAt: ago(0) })).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/DuplicatePayment: payment pay-1/) });
      await second.transport.settled();
    } finally {
      await second.stop({ timeoutMs: 2_000 });
    }
    // Counted once: the totals are what they were.
    expect((await committed(keys, 'QuotaSla', customerId)).data.ledger).toEqual(before.quota.data.ledger);
    expect((await committed(keys, 'Billing', customerId)).data.ledger).toEqual(before.billing.data.ledger);
  });

  it('migrate states that kept usage keys and payments in their data: moved to records on first load, every one still recognised', async () => {
    const prefix = `${db.redis.prefix}-migrate`;
    const keys = new RedisKeys(prefix, { partitions: PARTITIONS });
    const store = new RedisStore(db.redis.client(), { prefix, partitions: PARTITIONS });
    const { customerId } = fixture;
    for (const [kind, state] of Object.entries(fixture.states)) {
      await store.save({ entity: kind, key: customerId }, state, 0);
      const records = Object.entries(fixture.records[kind] ?? {}).flatMap(([field, value]) => [field, JSON.stringify(value)]);
      if (records.length > 0) await db.redis.client().hset(keys.records({ entity: kind, key: customerId }), ...records);
    }
    type OldData = { ledger: { totals: unknown; seen: Record<string, string>; previousSeen: Record<string, string> }; payments?: Record<string, string> };
    const old = (kind: string) => (fixture.states[kind]!.snapshot as { context: { data: OldData } }).context.data;
    const usageKeys = { ...old('Billing').ledger.previousSeen, ...old('Billing').ledger.seen };
    expect(Object.keys(usageKeys).length, 'the fixture has keys of this month and the month before').toBeGreaterThanOrEqual(4);
    const node = await start(prefix, 'migrating');
    try {
      // A key of the month before (kept in `previousSeen`) and one of this month, under new event ids.
      for (const key of ['use-sep-1', 'use-oct-3']) {
        const original = fixture.events.find((e) => e.idempotencyKey === key)!;
        const again = await call(node, { ...original, eventId: `${key}-again`, occurredAt: ago(0) });
        expect(again.replies?.map((r) => [r.governor, r.status]), key).toEqual([
          ['QuotaSla', 'not_applicable'],
          ['Billing', 'not_applicable'],
        ]);
      }
      const paid = fixture.events.find((e) => e.type === 'PaymentProcessed')!;
      expect(await call(node, { ...paid, eventId: 'pay-again', occurredAt: ago(0) })).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/DuplicatePayment/) });
      await node.transport.settled();
    } finally {
      await node.stop({ timeoutMs: 2_000 });
    }
    const billing = await committed(keys, 'Billing', customerId);
    const quota = await committed(keys, 'QuotaSla', customerId);
    for (const { data } of [billing, quota]) expect(Object.keys(data.ledger).sort()).toEqual(['period', 'totals']);
    expect(billing.data).not.toHaveProperty('payments');
    // None lost: every key and payment is a record, with what it was counted for.
    for (const [key, fingerprint] of Object.entries(usageKeys)) {
      expect(billing.records[`usage:${key}`], key).toBe(fingerprint);
      expect(quota.records[`usage:${key}`], key).toBe(fingerprint);
    }
    for (const [paymentId, amount] of Object.entries(old('Billing').payments ?? {})) expect(billing.records[`payment:${paymentId}`]).toBe(amount);
    // The resent reports were not counted again.
    expect(billing.data.ledger.totals).toEqual(old('Billing').ledger.totals);
    expect(quota.data.ledger.totals).toEqual(old('QuotaSla').ledger.totals);
  });
});
