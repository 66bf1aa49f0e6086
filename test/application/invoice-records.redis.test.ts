/**
 * Billing's invoices as keyed records (`invoice:<id>`) on BullMQ with a real Redis: a Billing
 * state saved by the code that kept its invoices in its data (fixture saved at 0daaff4: one paid,
 * one unpaid after a failed payment) migrates on first load, every invoice a record, the unpaid
 * one still open and settled by the next payment; the customer's export holds them all.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import type { Outcome } from '../../machines/orchestrator.ts';
import { exportCustomer } from '../../src/cli/customer/customer-operations.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { RedisStore } from '../../src/store/redis-store.ts';
import { privateRedisForFile } from '../support/private-redis.ts';
import { startMarketplaceNode } from '../support/marketplace-node.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/invoices-v1-states.json', import.meta.url), 'utf8')) as {
  customerId: string;
  states: Record<string, PersistedActorState>;
  records: Record<string, Record<string, unknown>>;
};
type Invoice = { invoiceId: string; period: string; total: string; paid: boolean };

// The export reads with the default key layout: the node uses it too.
const PARTITIONS = 16;
const db = privateRedisForFile();

describe('invoices as records on BullMQ', () => {
  it('a state that kept its invoices migrates on first load: each a record, the unpaid one open until paid, all exported', async () => {
    const prefix = `${db.redis.prefix}-invoices`;
    const keys = new RedisKeys(prefix, { partitions: PARTITIONS });
    const store = new RedisStore(db.redis.client(), { prefix, partitions: PARTITIONS });
    const { customerId } = fixture;
    const address = { entity: 'Billing', key: customerId };
    await store.save(address, fixture.states.Billing!, 0);
    const seeded = Object.entries(fixture.records.Billing ?? {}).flatMap(([field, value]) => [field, JSON.stringify(value)]);
    if (seeded.length > 0) await db.redis.client().hset(keys.records(address), ...seeded);
    const old = (fixture.states.Billing!.snapshot as { context: { data: { invoices: Invoice[]; balance: string } } }).context.data;
    expect(old.invoices.map((i) => i.paid), 'the fixture has a paid and an unpaid invoice').toEqual([true, false]);

    const node = await startMarketplaceNode(db.redis.url, prefix, 'migrating', { partitions: PARTITIONS, pseudonymKey: 'invoices-v1-fixture-pseudonym-key' });
    try {
      const payment: LifecycleEvent = { eventId: 'pay-open', customerId, occurredAt: new Date().toISOString(), type: 'PaymentProcessed', amount: old.balance, currency: 'USD', paymentId: 'pay-open' };
      const outcome = await node.node.call<Outcome>({ entity: 'Orchestrator', key: customerId }, { type: 'lifecycle', event: payment, receivedAt: Date.now() }, { timeout: 30_000 });
      expect(outcome).toMatchObject({ status: 'completed' });
      await node.transport.settled();
    } finally {
      await node.stop({ timeoutMs: 2_000 });
    }
    const state = JSON.parse((await db.redis.client().hget(keys.state(address), 'd'))!) as { snapshot: { context: { data: Record<string, unknown> } } };
    const data = state.snapshot.context.data;
    expect(data).not.toHaveProperty('invoices');
    expect([data.openInvoices, data.invoiced, data.invoiceSeq, data.balance]).toEqual([[], '198.00', 2, '0.00']);
    const records = Object.fromEntries(Object.entries(await db.redis.client().hgetall(keys.records(address))).map(([field, text]) => [field, JSON.parse(text) as unknown]));
    // None lost: the paid invoice as it was, the open one paid by the payment after the migration.
    expect(records['invoice:inv-1']).toEqual(old.invoices[0]);
    expect(records['invoice:inv-2']).toEqual({ ...old.invoices[1], paid: true });
    expect(records['payment:pay-open']).toBe(old.balance);
    for (const [field, value] of Object.entries(fixture.records.Billing ?? {})) expect(records[field], field).toEqual(value);

    const exported = await exportCustomer({ redis: db.redis.client(), url: db.redis.url, prefix }, customerId);
    const billing = exported.entities.find((e) => e.entity === 'Billing');
    expect(billing?.records).toEqual(records);
  });
});
