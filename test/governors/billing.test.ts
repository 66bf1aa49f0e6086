import { describe, expect, it } from 'vitest';
import { billingGovernor, decideBilling, dunningWaits, type BillingData, type BillingState } from '../../machines/governors/billing.ts';
import { cyclePrice } from '../../src/marketplace/proration.ts';
import { T0, days } from './model-support.ts';
import { checkRow, ev, given, type Row } from './domain-support.ts';

const subscribe = (sku = 'PRO-MONTHLY', tier = 'professional', at = 0) => ev('CustomerSubscribes', { sku, tier }, at);
const usage = (quantity: number | string, key: string, metric = 'executions') => ev('UsageRecorded', { metric, quantity, idempotencyKey: key }, 20);
// A trial of 14 days, then a 30-day cycle: the first renewal is due from day 37 (7 days before its end).
const renewal = (at = 43) => ev('RenewalDue', { subscriptionId: 's1' }, at);
const pay = (amount: string, paymentId = 'p1', currency = 'USD') => ev('PaymentProcessed', { amount, currency, paymentId }, 45);
const fail = (paymentId = 'f1') => ev('PaymentFailed', { reason: 'card declined', paymentId }, 45);
const upgrade = (fromSku: string, toSku: string, at: number) => ev('CustomerUpgrades', { fromSku, toSku }, at);

// Invoiced: a Professional cycle with 150,000 executions = 99 + 50,000 × 0.01 = 599.00 due.
const invoiced = () => [subscribe(), usage(150_000, 'u1'), renewal()];

const rows: Row<BillingState, BillingData>[] = [
  { name: 'a subscription starts the first cycle after the 14-day trial', history: [], event: subscribe(), status: 'applied', state: 'AwaitingInvoice',
    check: (d) => expect([d.plan?.tier, d.plan?.cycleStart, d.trialUsed]).toEqual(['professional', T0 + days(14), true]) },
  { name: 'a returning customer gets no second trial', history: [subscribe(), ev('CustomerCancels')], event: subscribe('ENT-MONTHLY', 'enterprise', 2), status: 'applied',
    check: (d) => expect(d.plan?.cycleStart).toBe(T0 + days(2)) },
  { name: 'an unknown SKU is refused', history: [], event: subscribe('GOLD', 'professional'), status: 'rejected', reason: /unknown SKU "GOLD"/ },
  { name: 'a SKU and tier that disagree are refused', history: [], event: subscribe('PRO-MONTHLY', 'enterprise'), status: 'rejected', reason: /is a professional plan/ },
  { name: 'a second subscription is refused', history: [subscribe()], event: subscribe(), status: 'rejected', reason: /already billing PRO-MONTHLY/ },
  { name: 'usage is recorded in the ledger', history: [subscribe()], event: usage('150000', 'u1'), status: 'applied', check: (d) => expect(d.ledger.totals.executions).toBe('150000') },
  { name: 'usage with a key seen before counts once', history: [subscribe(), usage(5, 'u1')], event: usage(5, 'u1'), status: 'not_applicable', reason: /recorded already/ },
  { name: 'a key reused for other usage is refused', history: [subscribe(), usage(5, 'u1')], event: usage(6, 'u1'), status: 'rejected', reason: /first used for executions=5/ },
  { name: 'usage without a plan is refused', history: [], event: usage(5, 'u1'), status: 'rejected', reason: /no subscription/ },
  { name: 'a renewal before its window is refused', history: [subscribe()], event: renewal(30), status: 'rejected', reason: /renewal not due before/ },
  { name: 'a renewal invoices base fee and overage, resets the ledger and moves the cycle', history: [subscribe(), usage(150_000, 'u1')], event: renewal(), status: 'applied', state: 'InvoiceIssued',
    check: (d, reply, records) => {
      expect([d.balance, d.openInvoices.map((i) => i.total), d.invoiced, d.ledger.totals.executions]).toEqual(['599.00', ['599.00'], '599.00', '0']);
      expect(records.get('invoice:inv-1')).toEqual({ invoiceId: 'inv-1', period: '2026-01', total: '599.00', paid: false });
      expect(d.plan?.cycleStart).toBe(T0 + days(44));
      expect(reply.facts).toMatchObject({ invoice: 'inv-1', invoiceTotal: '599.00', standing: 'good' });
    } },
  { name: 'the same renewal delivered again is not due: no cycle is charged twice', history: invoiced(), event: renewal(), status: 'rejected', reason: /not due/ },
  { name: 'a longer cycle invoices the whole cycle’s discounted price', history: [subscribe('PRO-ANNUAL')], event: ev('RenewalDue', { subscriptionId: 's' }, 14 + 360), status: 'applied',
    check: (d) => expect(d.balance).toBe(cyclePrice('professional', 'annual')) },
  { name: 'a payment of the balance settles it', history: invoiced(), event: pay('599.00'), status: 'applied', state: 'AwaitingInvoice',
    check: (d, _reply, records) => expect([d.balance, records.get('payment:p1'), (records.get('invoice:inv-1') as { paid?: boolean })?.paid, d.openInvoices]).toEqual(['0.00', '599.00', true, []]) },
  { name: 'a payment within a cent of the balance settles it', history: invoiced(), event: pay('598.99'), status: 'applied', state: 'AwaitingInvoice' },
  { name: 'a payment id is applied once, ever', history: [...invoiced(), pay('599.00')], event: pay('599.00'), status: 'rejected', reason: /DuplicatePayment: payment p1/ },
  { name: 'a payment that does not match the balance is refused', history: invoiced(), event: pay('500.00'), status: 'rejected', reason: /PaymentAmountMismatch: 599.00 USD is due, 500.00 USD was paid/ },
  { name: 'a payment in another currency is refused', history: invoiced(), event: pay('599.00', 'p1', 'EUR'), status: 'rejected', reason: /EUR is not accepted/ },
  { name: 'a payment amount that is not a decimal string is refused', history: invoiced(), event: pay(599 as never), status: 'rejected', reason: /amount/ },
  { name: 'a payment with nothing due is refused', history: [subscribe()], event: pay('1.00'), status: 'rejected', reason: /nothing is due/ },
  { name: 'a failed payment starts dunning', history: invoiced(), event: fail(), status: 'applied', state: 'PaymentFailed',
    check: (d, reply) => expect([d.failedPayments, reply.facts?.standing]).toEqual([['f1'], 'delinquent']) },
  { name: 'the same failure reported twice counts once', history: [...invoiced(), fail()], event: fail(), status: 'rejected', reason: /DuplicatePaymentFailure/ },
  { name: 'another failure during dunning keeps the episode’s clock', history: [...invoiced(), fail(), 'timeout'], event: fail('f2'), status: 'applied', state: 'Retry1' },
  { name: 'a failure with nothing due is refused', history: [subscribe()], event: fail(), status: 'rejected', reason: /nothing is due/ },
  { name: 'a payment ends dunning, even from collections', history: [...invoiced(), fail(), 'timeout', 'timeout', 'timeout', 'timeout', 'timeout'], event: pay('599.00'), status: 'applied', state: 'AwaitingInvoice' },
  { name: 'an upgrade mid-cycle charges the prorated difference on the next invoice', history: [subscribe()], event: upgrade('PRO-MONTHLY', 'ENT-MONTHLY', 14 + 15), status: 'applied',
    check: (d, reply) => {
      // (999 − 99) / 30 = 30.00 a day, 15 days left.
      expect(d.adjustments).toEqual([{ code: 'proration', description: 'upgrade PRO-MONTHLY → ENT-MONTHLY, 15 days left', amount: '450.00' }]);
      expect([d.plan?.tier, reply.facts?.proration]).toEqual(['enterprise', 'charge 450.00']);
    } },
  { name: 'the proration charge is invoiced at the renewal', history: [subscribe(), upgrade('PRO-MONTHLY', 'ENT-MONTHLY', 29)], event: renewal(), status: 'applied',
    check: (d) => expect([d.balance, d.adjustments]).toEqual(['1449.00', []]) },
  { name: 'a downgrade mid-cycle is a credit, never a negative charge', history: [subscribe('ENT-MONTHLY', 'enterprise')], event: upgrade('ENT-MONTHLY', 'PRO-MONTHLY', 14 + 15), status: 'applied',
    check: (d) => expect([d.credit, d.adjustments]).toEqual(['450.00', []]) },
  { name: 'a change during the trial prorates nothing', history: [subscribe()], event: upgrade('PRO-MONTHLY', 'ENT-MONTHLY', 3), status: 'applied', check: (d) => expect([d.adjustments, d.credit]).toEqual([[], '0.00']) },
  { name: 'a change computed on a stale plan is refused', history: [subscribe()], event: upgrade('ENT-MONTHLY', 'PRO-MONTHLY', 20), status: 'rejected', reason: /billing PRO-MONTHLY, not ENT-MONTHLY/ },
  { name: 'a change while payment is overdue is refused', history: [...invoiced(), fail()], event: upgrade('PRO-MONTHLY', 'ENT-MONTHLY', 45), status: 'rejected', reason: /payment overdue: 599.00 USD/ },
  { name: 'a subscription while payment is overdue is refused', history: [...invoiced(), fail(), ev('CustomerCancels')], event: subscribe(), status: 'rejected', reason: /payment overdue/ },
  { name: 'a cancellation stops the plan and keeps what is due', history: invoiced(), event: ev('CustomerCancels'), status: 'applied', state: 'InvoiceIssued', check: (d) => expect([d.plan, d.balance]).toEqual([null, '599.00']) },
  { name: 'a renewal while suspended for non-payment is refused', history: [...invoiced(), fail(), 'timeout', 'timeout', 'timeout', 'timeout'], event: renewal(80), status: 'rejected', reason: /suspended for non-payment/ },
  { name: 'a quota breach is billed from usage, not from the report', history: [subscribe()], event: ev('UsageExceedsQuota', { resource: 'executions', usage: 2, limit: 1 }), status: 'not_applicable' },
];

describe('Billing rules', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => checkRow(billingGovernor, row));

  it('walks the dunning schedule: retries on days 2, 3 and 6, suspension on day 7, collections on day 13', () => {
    const waits = dunningWaits();
    const day = 86_400_000;
    expect(waits).toEqual({ PaymentFailed: 2 * day, Retry1: day, Retry2: 3 * day, Retry3: day, Suspended: 6 * day });
    const seen = [0, 1, 2, 3, 4, 5].map((n) => given(billingGovernor, [...invoiced(), fail(), ...Array<'timeout'>(n).fill('timeout')]).state);
    expect(seen).toEqual(['PaymentFailed', 'Retry1', 'Retry2', 'Retry3', 'Suspended', 'Collections']);
  });

  // SuspensionLifted is decided here but not routed yet (it needs a row in the event schema).
  it('does not let a lifted suspension lift non-payment', () => {
    const suspended = given(billingGovernor, [...invoiced(), fail(), 'timeout', 'timeout', 'timeout', 'timeout']);
    const decision = decideBilling(suspended.state, suspended.data, ev('SuspensionLifted', { reason: 'appeal', actor: 'ops' }), 'c1');
    expect(decision).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/a payment of 599.00 USD lifts it/) });
  });
});
