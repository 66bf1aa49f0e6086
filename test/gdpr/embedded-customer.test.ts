/**
 * GDPR export and erasure on the embedded marketplace (memory transport, simulated clock), as the
 * embedded node's REPL runs them: the same rules as over Redis. The whole store is scanned for
 * the raw contact after erasure, and the log is verified with its receipts.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock, createNode } from '../../src/index.ts';
import { startMarketplace } from '../../supervisors/marketplace.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import { marketplaceOperations } from '../../src/cli/embedded.ts';

const START = Date.parse('2026-01-05T10:00:00Z');
const CONTACT = { name: 'Katherine Johnson', email: 'katherine@example.com', taxId: 'US-42' };

function market() {
  const clock = new SimulatedClock(START);
  const node = createNode({ clock });
  const app = startMarketplace(node, { pseudonymKey: 'gdpr-embedded-key-0123456789' });
  const ops = marketplaceOperations(app, () => clock.now());
  let serial = 0;
  const event = (customerId: string, type: string, fields: Record<string, unknown> = {}): LifecycleEvent => ({
    eventId: `e-${++serial}`,
    customerId,
    occurredAt: new Date(clock.now()).toISOString(),
    type,
    ...fields,
  });
  /** Every state and journal entry the store holds, as text. */
  const everything = () =>
    JSON.stringify(
      ['Orchestrator', 'Entitlement', 'Billing', 'ProductCatalog', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'MultiTenant', 'Receipts'].flatMap((kind) =>
        app.store.keys(kind).map((key) => [app.store.get({ entity: kind, key }), app.store.journalOf({ entity: kind, key })]),
      ),
    );
  return { app, ops, event, everything, clock };
}

describe('customer_export and customer_erase on the embedded marketplace', () => {
  it('exports the contact, erases it from every state, with a receipt, and the log verifies', async () => {
    const { app, ops, event, everything } = market();
    expect((await app.submit(event('k1', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional', contact: CONTACT }))).status).toBe('completed');
    expect((await app.submit(event('k1', 'UsageRecorded', { metric: 'executions', quantity: 3, idempotencyKey: 'u1' }))).status).toBe('completed');
    const before = (await ops.customer_export('k1')) as { personalData: unknown; receipts: unknown[]; log: { verifies: boolean } };
    expect(before.personalData).toEqual({ contact: CONTACT });
    expect(before.receipts).toHaveLength(2);
    expect(everything()).toContain(CONTACT.email);

    const erased = (await ops.customer_erase('k1')) as { status: string; heldBefore: string[]; heldAfter: string[]; receipts: number };
    expect(erased).toMatchObject({ status: 'erased', heldAfter: [], receipts: 3 });
    expect(erased.heldBefore).toEqual(expect.arrayContaining(['CustomerAccount.contact', 'Receipts.personalSalt', 'Orchestrator.personalSalt']));
    for (const s of Object.values(CONTACT)) expect(everything()).not.toContain(s);
    const after = (await ops.customer_export('k1')) as { personalData: unknown; log: { verifies: boolean } };
    expect(after).toMatchObject({ personalData: { contact: null }, log: { verifies: true } });
    expect(await ops.audit_verify('k1')).toMatchObject({ ok: true });
    expect(app.stateOf('Compliance', 'k1')?.value).toBe('Erased');

    // Again: nothing to do, no second receipt.
    expect(await ops.customer_erase('k1')).toMatchObject({ status: 'already-erased' });
    expect(((await ops.customer_export('k1')) as { receipts: unknown[] }).receipts).toHaveLength(3);
    // Later events are processed; the account's standing was kept.
    expect((await app.submit(event('k1', 'UsageRecorded', { metric: 'executions', quantity: 1, idempotencyKey: 'u2' }))).status).toBe('completed');
    expect(app.stateOf('CustomerAccount', 'k1')?.value).toBe('Active');
  });

  it('exports the records held beside the states: Billing’s usage keys, invoices and payments, the handled events', async () => {
    const { app, ops, event, clock } = market();
    const subscribe = event('k3', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    expect((await app.submit(subscribe)).status).toBe('completed');
    expect((await app.submit(event('k3', 'UsageRecorded', { metric: 'executions', quantity: 3, idempotencyKey: 'u1' }))).status).toBe('completed');
    // The 14-day trial and a 30-day cycle: its renewal is due from day 37.
    clock.advance(43 * 86_400_000);
    expect((await app.submit(event('k3', 'RenewalDue', { subscriptionId: subscribe.eventId }))).status).toBe('completed');
    expect((await app.submit(event('k3', 'PaymentProcessed', { amount: '99.00', currency: 'USD', paymentId: 'p1' }))).status).toBe('completed');
    const exported = (await ops.customer_export('k3')) as { entities: Array<{ entity: string; context: { data?: object }; records?: Record<string, unknown> }> };
    const entity = (kind: string) => exported.entities.find((e) => e.entity === kind)!;
    expect(entity('Billing').records).toMatchObject({
      'usage:u1': 'executions=3',
      'invoice:inv-1': { invoiceId: 'inv-1', total: '99.00', paid: true },
      'payment:p1': '99.00',
    });
    // The paid invoice is only a record: without the records the export would not hold it.
    expect(JSON.stringify(entity('Billing').context)).not.toContain('inv-1');
    expect(Object.keys(entity('Orchestrator').records ?? {})).toEqual(expect.arrayContaining(['e-1', 'e-2', 'e-3', 'e-4']));
  });

  it('refuses under a legal hold and keeps the data', async () => {
    const { app, ops, event } = market();
    await app.submit(event('k2', 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional', contact: CONTACT }));
    await app.submit(event('k2', 'ManualSuspension', { reason: 'fraud review', actor: 'ops' }));
    expect(await ops.customer_erase('k2')).toMatchObject({ status: 'refused', reason: expect.stringMatching(/LEGAL_HOLD/) });
    expect(((await ops.customer_export('k2')) as { personalData: unknown }).personalData).toEqual({ contact: CONTACT });
  });

  it('refuses an unknown customer and a non-string id with clear errors', async () => {
    const { ops } = market();
    await expect(ops.customer_export('nobody')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_FOUND' });
    await expect(ops.customer_erase('nobody')).rejects.toMatchObject({ code: 'CUSTOMER_NOT_FOUND' });
    await expect(ops.customer_export({ toString: () => 'k1' } as unknown as string)).rejects.toThrow(/customer id string/);
  });
});
