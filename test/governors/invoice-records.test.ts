/**
 * Issued invoices as keyed records beside Billing's state (`invoice:<id>`), not a list in its data
 * (issue 15: history is not state): the data keeps the unpaid invoices only, and the count and sum
 * of all, so a customer's Billing data is the same size in its second year as in its second
 * month; states saved when the data kept the list (fixture saved at 0daaff4) migrate with every
 * invoice as a record.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { billingGovernor, type BillingData, type InvoiceSummary } from '../../machines/governors/billing.ts';
import { migrateGovernorState } from '../../machines/governors/governor-kit.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';
import { decide, ev, given, recordsOf, type Step } from './domain-support.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/invoices-v1-states.json', import.meta.url), 'utf8')) as { states: Record<string, PersistedActorState> };
const dataOf = (state: PersistedActorState) => (state.snapshot as { context: { data: Record<string, unknown> } }).context.data;

// A trial of 14 days, then 30-day cycles: cycle n ends on day 14 + 30n, its renewal is due in the 7 days before.
const subscribe = () => ev('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' }, 0);
const renewal = (cycle: number) => ev('RenewalDue', { subscriptionId: 's1' }, 14 + 30 * cycle - 1);
const pay = (cycle: number, amount = '99.00') => ev('PaymentProcessed', { amount, currency: 'USD', paymentId: `p${cycle}` }, 14 + 30 * cycle);
const fail = (atDays: number) => ev('PaymentFailed', { reason: 'card declined', paymentId: `f${atDays}` }, atDays);
/** `cycles` months of a customer that pays each invoice. */
const months = (cycles: number): Step[] => [subscribe(), ...Array.from({ length: cycles }, (_, i) => [renewal(i + 1), pay(i + 1)]).flat()];

describe('invoices as records', () => {
  it('a customer of 24 months has the Billing data of one of 2, and a record of every invoice, paid', () => {
    const young = given(billingGovernor, months(2));
    const old = given(billingGovernor, months(24));
    // Only the counters are longer ("inv-24", "2376.00"): a few bytes, never an invoice more.
    expect(JSON.stringify(old.data).length).toBeLessThanOrEqual(JSON.stringify(young.data).length + 4);
    expect([old.data.invoiceSeq, old.data.invoiced, old.data.openInvoices]).toEqual([24, '2376.00', []]);
    expect(old.data).not.toHaveProperty('invoices');
    const invoices = [...recordsOf(old)].filter(([key]) => key.startsWith('invoice:'));
    expect(invoices.map(([key]) => key)).toEqual(Array.from({ length: 24 }, (_, i) => `invoice:inv-${i + 1}`));
    expect(invoices.every(([, invoice]) => (invoice as InvoiceSummary).paid && (invoice as InvoiceSummary).total === '99.00')).toBe(true);
  });

  it('an unpaid invoice stays open, in the data and its record, until the payment that settles every open one', () => {
    // The failure the day before the second renewal: still in its first dunning step (a retry is 2 days on).
    const overdue = given(billingGovernor, [subscribe(), renewal(1), fail(72), renewal(2)]);
    expect(overdue.state).toBe('PaymentFailed');
    expect(overdue.data.openInvoices.map((i) => i.invoiceId)).toEqual(['inv-1', 'inv-2']);
    expect([overdue.data.balance, overdue.data.invoiced]).toEqual(['198.00', '198.00']);
    expect(recordsOf(overdue).get('invoice:inv-2')).toEqual({ invoiceId: 'inv-2', period: '2026-02', total: '99.00', paid: false });
    const { decision } = decide(billingGovernor, overdue, pay(2, '198.00'));
    expect(decision).toMatchObject({ status: 'applied', next: { state: 'AwaitingInvoice', data: { balance: '0.00', openInvoices: [] } } });
    expect(decision.records).toEqual({
      'invoice:inv-1': { invoiceId: 'inv-1', period: '2026-01', total: '99.00', paid: true },
      'invoice:inv-2': { invoiceId: 'inv-2', period: '2026-02', total: '99.00', paid: true },
      'payment:p2': '198.00',
    });
  });

  it('a state that kept its invoices in its data migrates: each becomes a record, the unpaid stay open, none lost', () => {
    const stored = fixture.states.Billing!;
    const old = dataOf(stored) as { invoices: InvoiceSummary[]; balance: string };
    expect(old.invoices.map((i) => i.paid), 'the fixture has a paid and an unpaid invoice').toEqual([true, false]);
    const migrated = migrateGovernorState(stored, billingGovernor as never)!;
    for (const invoice of old.invoices) expect(migrated.records[`invoice:${invoice.invoiceId}`]).toEqual(invoice);
    const data = dataOf(migrated.state) as unknown as BillingData;
    expect(data).not.toHaveProperty('invoices');
    expect([data.openInvoices, data.invoiced, data.invoiceSeq, data.balance]).toEqual([[{ invoiceId: 'inv-2', period: '2026-10', total: '99.00' }], '198.00', 2, old.balance]);
    // Migrated once: a state of this layout needs none.
    expect(migrateGovernorState(migrated.state, billingGovernor as never)).toBeUndefined();
  });
});
