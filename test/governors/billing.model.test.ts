import { describe, expect, it } from 'vitest';
import { billingGovernor, billingMachine, billingStanding, type BillingData, type BillingState } from '../../machines/governors/billing.ts';
import { cycleEnd } from '../../machines/governors/plan.ts';
import type { GovernorContext } from '../../machines/governors/governor-kit.ts';
import { Dec } from '../../src/marketplace/money.ts';
import { T0, days, traverseGovernor, type Sample } from './model-support.ts';

type C = GovernorContext<BillingState, BillingData>;

function samples(c: C): Sample[] {
  const plan = c.data.plan;
  const inCycle = plan ? plan.cycleStart + days(5) : T0;
  const onEnterprise = plan?.tier === 'enterprise';
  return [
    { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
    { type: 'CustomerUpgrades', fields: { fromSku: plan?.sku ?? 'PRO-MONTHLY', toSku: onEnterprise ? 'PRO-MONTHLY' : 'ENT-MONTHLY' }, at: inCycle },
    { type: 'RenewalDue', fields: { subscriptionId: 's1' }, at: plan ? cycleEnd(plan) - days(1) : T0 },
    { type: 'PaymentProcessed', fields: { amount: c.data.balance, currency: 'USD', paymentId: `p-${c.version}` } },
    { type: 'PaymentProcessed', fields: { amount: c.data.balance, currency: 'USD', paymentId: 'p-same' } },
    { type: 'PaymentFailed', fields: { reason: 'card declined', paymentId: `f-${c.version}` } },
    { type: 'UsageRecorded', fields: { metric: 'executions', quantity: 150_000, idempotencyKey: 'u1' } },
    { type: 'CustomerCancels' },
    { type: 'UsageExceedsQuota', fields: { resource: 'executions', usage: 2, limit: 1 } },
  ];
}

describe('Billing governor, traversed with xstate/graph', () => {
  const result = traverseGovernor(billingGovernor, billingMachine, {
    samples,
    // Every event again at each dunning deadline ahead: more pending changes to tell apart.
    limit: 200_000,
    abstract: (c) => [
      c.data.plan?.tier ?? null,
      new Dec(c.data.balance).gt(0),
      new Dec(c.data.credit).gt(0),
      c.data.adjustments.length > 0,
      c.data.failedPayments.length > 0,
      // (Usage keys and applied payments are records beside the state, which only the runtime
      // hands over: billing.test.ts and the runtime tests cover their duplicates.)
    ],
    invariant: (c) => {
      const balance = new Dec(c.data.balance);
      expect(balance.gte(0)).toBe(true);
      // Nothing is due exactly when the account is awaiting its next invoice.
      if (c.state === 'AwaitingInvoice') expect(balance.eq(0)).toBe(true);
      else expect(balance.gt(0)).toBe(true);
      if (billingStanding(c.state) === 'delinquent') {
        expect(c.data.failedAt).not.toBeNull();
        expect(c.data.failedPayments.length).toBeGreaterThan(0);
      }
      expect(new Set(c.data.openInvoices.map((i) => i.invoiceId)).size).toBe(c.data.openInvoices.length);
      // What is due is what the open invoices add up to: a payment settles them all.
      expect(c.data.openInvoices.reduce((sum, i) => sum.plus(i.total), new Dec(0)).toFixed(2)).toBe(balance.toFixed(2));
      // The data keeps no history of payments, invoices or usage keys: those are records.
      expect(c.data).not.toHaveProperty('payments');
      expect(c.data).not.toHaveProperty('invoices');
      expect(c.data.ledger).not.toHaveProperty('seen');
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
