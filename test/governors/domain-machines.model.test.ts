import { describe, expect, it } from 'vitest';
import { complianceDomain } from '../../machines/governors/compliance.ts';
import { customerAccountDomain } from '../../machines/governors/customer-account.ts';
import { createEntitlementDomain, entitlementDomain, type EntitlementData } from '../../machines/governors/entitlement.ts';
import { fraudBand, fraudScore } from '../../machines/governors/fraud-score.ts';
import { multiTenantDomain } from '../../machines/governors/multi-tenant.ts';
import { productCatalogDomain } from '../../machines/governors/product-catalog.ts';
import { subscriptionDomain } from '../../machines/governors/subscription.ts';
import { cycleEnd } from '../../machines/governors/plan.ts';
import { T0, days } from './model-support.ts';
import { refusalsStay, traverseDomain } from './domain-model-support.ts';
import { billingDomain, billingStanding, type BillingState } from '../../machines/governors/billing.ts';
import { evaluateUsage, quotaSlaDomain } from '../../machines/governors/quota-sla.ts';
import { Dec } from '../../src/marketplace/money.ts';
/**
 * Model-based coverage of each governor's domain machine: `xstate/graph` reaches every domain
 * state and takes every domain transition (guarded branches and timers included), with the
 * governor's invariants checked in every state it visits.
 */

describe('MultiTenant domain machine', () => {
  const coverage = traverseDomain(multiTenantDomain, {
    samples: () => [
      { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 11, limit: 10 } },
      { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 30, limit: 10 } },
      { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 5, limit: 10 } },
      { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: -1, limit: 10 } },
      { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
    ],
    abstract: (d) => [d.breaches > 0],
    invariant: (state, d) => {
      if (state === 'Healthy') expect([d.throttle, d.shed]).toEqual(['1', []]);
      if (state === 'LoadBalancing' || state === 'Recovery') expect([d.throttle, d.shed]).toEqual(['0.5', []]);
      if (state === 'CascadePrevention') expect([d.throttle, d.shed]).toEqual(['0.5', ['analytics', 'recommendations']]);
      if (state === 'EmergencyShutdown') expect([d.throttle, d.shed.includes('caching')]).toEqual(['0.25', true]);
      if (state !== 'Healthy' && state !== 'Recovery') expect(d.breaches).toBeGreaterThan(0);
    },
  });

  it('reaches every state', () => expect(coverage.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(coverage.unreachedTransitions).toEqual([]));
  it('refuses without moving', () => expect(refusalsStay(multiTenantDomain)).toEqual([]));
});

describe('Compliance domain machine', () => {
  const coverage = traverseDomain(complianceDomain, {
    samples: () => [
      { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
      { type: 'PaymentFailed', fields: { reason: 'card declined', paymentId: 'f1' } },
      { type: 'CustomerCancels' },
      { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
      { type: 'SuspensionLifted', fields: { actor: 'ops' } },
      { type: 'CustomerErasureRequested', fields: { requestedBy: 'ops.dpo' } },
    ],
    abstract: (d) => [Math.min(d.failures.length, 5), d.subscribedAt !== null, d.cancelledAt !== null, d.erased, d.auditReason !== null],
    invariant: (state, d) => {
      if (state === 'UnderAudit') expect([d.auditReason !== null, d.auditOpenedAt !== null]).toEqual([true, true]);
      if (state === 'Retaining') expect(d.cancelledAt).not.toBeNull();
      if (state === 'Compliant') expect([d.auditReason, d.cancelledAt]).toEqual([null, null]);
      // Erasure keeps nothing but the fact of it.
      if (state === 'Erased') expect(d).toEqual({ failures: [], auditReason: null, auditOpenedAt: null, subscribedAt: null, cancelledAt: null, erased: true });
      else expect(d.erased).toBe(false);
    },
  });

  it('reaches every state', () => expect(coverage.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(coverage.unreachedTransitions).toEqual([]));
  it('refuses without moving', () => expect(refusalsStay(complianceDomain)).toEqual([]));
});

describe('ProductCatalog domain machine', () => {
  const item = { itemKind: 'sku', itemId: 'etl' };
  const coverage = traverseDomain(productCatalogDomain, {
    samples: (d) => [
      { type: 'CatalogPublish', fields: { ...item, version: `1.${Math.min(d.items.etl?.versions.length ?? 0, 2)}.0` } },
      { type: 'CatalogPublish', fields: { ...item, version: 'not-semver' } },
      { type: 'CatalogDeprecate', fields: item },
      { type: 'CatalogDeprecate', fields: { ...item, version: '1.0.0' } },
      { type: 'CatalogDeprecate', fields: { ...item, itemId: 'missing' } },
      { type: 'CatalogReprice', fields: { ...item, price: '10.00', currency: 'EUR', effectiveAt: '2026-02-01T00:00:00Z' } },
      { type: 'CatalogReprice', fields: { ...item, price: '0.00', currency: 'EUR', effectiveAt: '2026-02-01T00:00:00Z' } },
    ],
    abstract: (d) => Object.entries(d.items).map(([id, i]) => [id, i.retired, Math.min(i.versions.length, 3), i.deprecated.length, i.prices.length > 0]),
    invariant: (state, d) => {
      const live = Object.values(d.items).filter((i) => !i.retired);
      expect(state).toBe(live.length > 0 ? 'Listed' : 'Empty');
      for (const i of Object.values(d.items)) expect(i.retired).toBe(i.deprecated.length === i.versions.length);
    },
  });

  it('reaches every state', () => expect(coverage.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(coverage.unreachedTransitions).toEqual([]));
  it('refuses without moving', () => expect(refusalsStay(productCatalogDomain)).toEqual([]));
});

describe('CustomerAccount domain machine', () => {
  const LIVE = ['Active', 'PastDue', 'Suspended', 'UnderReview'];
  const coverage = traverseDomain(customerAccountDomain, {
    samples: () => [
      { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
      { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional', contact: { name: 'Ada' } } },
      { type: 'CustomerErasureRequested', fields: { requestedBy: 'ops.dpo' } },
      { type: 'PaymentProcessed', fields: { amount: '99.00', currency: 'USD', paymentId: 'p1' } },
      { type: 'PaymentFailed', fields: { reason: 'card declined', paymentId: 'f1' } },
      { type: 'UsageExceedsQuota', fields: { resource: 'executions', usage: 2, limit: 1 } },
      { type: 'ManualSuspension', fields: { reason: 'fraud review', actor: 'ops' } },
      { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
      { type: 'SuspensionLifted', fields: { actor: 'ops' } },
      { type: 'CustomerCancels' },
    ],
    abstract: (d) => [d.hold, d.dunning, d.charges.length > 0, d.activity.length > 0, d.openedAt !== null, d.contact !== null, d.holdReason !== null],
    invariant: (state, d) => {
      if (state === 'Active') expect([d.hold, d.dunning]).toEqual(['none', 'none']);
      if (state === 'PastDue') expect([d.hold, d.dunning]).toEqual(['none', 'past_due']);
      if (state === 'UnderReview') expect(d.hold).toBe('review');
      if (state === 'Suspended') expect(d.hold === 'suspended' || (d.hold === 'none' && d.dunning === 'suspended')).toBe(true);
      if (state === 'Onboarding') expect([d.hold, d.dunning, d.openedAt]).toEqual(['none', 'none', null]);
      if (d.hold !== 'none' && LIVE.includes(state)) expect(d.holdReason).not.toBeNull();
      if (state === 'Archived') expect([d.charges, d.activity, d.holdReason]).toEqual([[], [], null]);
    },
  });

  it('reaches every state', () => expect(coverage.unreachedStates).toEqual([]));
  it('takes every transition but the fraud hold, which no event can reach yet', () => {
    // Without a geo signal (no event carries one yet) the score tops out below the suspend band,
    // so the refusal of a held charge is written out but cannot fire.
    const night = Array.from({ length: 10 }, (_, i) => Date.parse('2026-01-05T02:00:00Z') + i);
    expect(fraudBand(fraudScore({ chargesLast24h: 50, countryChangedWithin1h: false, activity: night, rapidActions: 100 }))).toBe('closer_checks');
    expect(fraudBand(fraudScore({ chargesLast24h: 50, countryChangedWithin1h: true, activity: night, rapidActions: 49 }))).toBe('suspend');
    expect(coverage.unreachedTransitions).toEqual(LIVE.flatMap((state) => [`CustomerAccount.${state} --PaymentProcessed[0]-->`, `CustomerAccount.${state} --PaymentFailed[0]-->`]));
  });
  it('refuses without moving', () => expect(refusalsStay(customerAccountDomain)).toEqual([]));
});

describe('Subscription domain machine', () => {
  const RUNNING = ['Trial', 'Active', 'Cancelled'];
  const coverage = traverseDomain(subscriptionDomain, {
    samples: (d) => {
      const plan = d.plan;
      return [
        { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
        { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional', trial: false } },
        // Community has no trial: the customer's trial is still there for a later paid plan.
        { type: 'CustomerSubscribes', fields: { sku: 'COMMUNITY', tier: 'community' } },
        { type: 'CustomerSubscribes', fields: { sku: 'BOGUS', tier: 'professional' } },
        { type: 'CustomerUpgrades', fields: { fromSku: plan?.sku ?? 'PRO-MONTHLY', toSku: plan?.tier === 'enterprise' ? 'PRO-MONTHLY' : 'ENT-MONTHLY' } },
        { type: 'CustomerUpgrades', fields: { fromSku: plan?.sku ?? 'PRO-MONTHLY', toSku: 'ENT-ANNUAL' } },
        // Inside the renewal window of the current cycle, and once for another subscription.
        { type: 'RenewalDue', fields: { subscriptionId: d.subscriptionId ?? 'none' }, at: plan ? cycleEnd(plan) - days(1) : T0 },
        { type: 'RenewalDue', fields: { subscriptionId: 'sub-x' }, at: plan ? cycleEnd(plan) - days(1) : T0 },
        { type: 'CustomerCancels', fields: { reason: 'too expensive' } },
        { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
        { type: 'SuspensionLifted', fields: { actor: 'ops' } },
      ];
    },
    abstract: (d) => [d.trialUsed, d.plan?.tier ?? null, Math.min(d.renewals, 2), d.subscriptionId !== null, d.cancelledAt !== null],
    invariant: (state, d) => {
      // A running subscription always has a plan and an id; only Cancelled has a cancellation.
      if (RUNNING.includes(state)) expect([d.plan !== null, d.subscriptionId !== null]).toEqual([true, true]);
      expect(d.cancelledAt !== null).toBe(state === 'Cancelled' || state === 'Lapsed');
      if (state === 'Trial') expect(d.trialUsed).toBe(true);
      if (state === 'None') expect(d).toEqual({ subscriptionId: null, plan: null, trialUsed: false, renewals: 0, cancelledAt: null });
      // Archiving keeps only what the next subscription needs.
      if (state === 'Archived') expect([d.subscriptionId, d.plan, d.cancelledAt]).toEqual([null, null, null]);
    },
  });

  it('reaches every state', () => expect(coverage.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(coverage.unreachedTransitions).toEqual([]));
  it('refuses without moving', () => expect(refusalsStay(subscriptionDomain)).toEqual([]));
});

describe('Entitlement domain machine', () => {
  // A node with a signing key grants every entitlement a licence key, one without grants none:
  // renewing a key and answering that there is none to renew are each reachable on one of them.
  const signed = createEntitlementDomain(() => 'licence-key');
  const options = {
    samples: (d: EntitlementData) => {
      const sku = d.plan?.sku ?? 'PRO-MONTHLY';
      return [
        { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
        { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'enterprise' } },
        { type: 'CustomerUpgrades', fields: { fromSku: sku, toSku: sku === 'ENT-MONTHLY' ? 'PRO-MONTHLY' : 'ENT-MONTHLY' } },
        { type: 'CustomerUpgrades', fields: { fromSku: sku, toSku: 'ENT-ANNUAL' } },
        { type: 'PaymentProcessed', fields: { amount: '99.00', currency: 'USD', paymentId: 'p1' } },
        { type: 'PaymentFailed', fields: { reason: 'card declined', paymentId: 'f1' } },
        { type: 'CustomerCancels' },
        { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
        { type: 'SuspensionLifted', fields: { reason: 'appeal granted', actor: 'ops' } },
        { type: 'RenewalDue', fields: { subscriptionId: 's1' } },
        { type: 'UsageExceedsQuota', fields: { resource: 'executions', usage: 2, limit: 1 } },
      ];
    },
    abstract: (d: EntitlementData) => [d.plan?.tier ?? null, d.manualHold, d.dunning, d.licence !== null],
    invariant: (state: string, d: EntitlementData) => {
      // The state is exactly what the two reasons to be off say it is.
      if (state === 'Active') expect([d.manualHold, d.dunning, d.plan !== null]).toEqual([false, 'none', true]);
      if (state === 'Grace') expect([d.manualHold, d.dunning, d.plan !== null]).toEqual([false, 'grace', true]);
      if (state === 'Suspended') expect([d.manualHold || d.dunning === 'suspended', d.plan !== null]).toEqual([true, true]);
      // An ended entitlement holds no key and no reason to be off.
      if (['Inactive', 'Cancelled', 'Expired', 'Terminated'].includes(state)) expect([d.licence, d.manualHold, d.dunning]).toEqual([null, false, 'none']);
      if (state === 'Inactive' || state === 'Expired') expect(d.plan).toBeNull();
    },
  };
  const unsignedCoverage = traverseDomain(entitlementDomain, options);
  const signedCoverage = traverseDomain(signed, options);

  it('reaches every state', () => expect([unsignedCoverage.unreachedStates, signedCoverage.unreachedStates]).toEqual([[], []]));
  it('takes every transition, with a signing key or without', () => {
    expect(unsignedCoverage.unreachedTransitions).toEqual(['Entitlement.Active --RenewalDue[1]-->']);
    expect(signedCoverage.unreachedTransitions).toEqual(['Entitlement.Active --RenewalDue[0]-->']);
  });
  it('refuses without moving', () => expect(refusalsStay(entitlementDomain)).toEqual([]));
});

describe('QuotaSla domain machine', () => {
  const DAY = 86_400_000;
  const SKUS = { community: 'COMMUNITY', professional: 'PRO-MONTHLY', enterprise: 'ENT-MONTHLY' } as const;
  const TIERS = Object.keys(SKUS) as (keyof typeof SKUS)[];
  // A key counted before (its record), the only record the decisions read.
  const records = (key: string) => (key === 'usage:seen' ? 'executions=1' : undefined);
  const coverage = traverseDomain(quotaSlaDomain, {
    records,
    samples: (d) => {
      // A report of the month after the ledger's: the month's first, which resets the count.
      const nextMonth = Math.max(Date.parse(`${d.ledger.period}-01T00:00:00Z`) + 40 * DAY, T0);
      return [
        ...TIERS.map((tier) => ({ type: 'CustomerSubscribes', fields: { sku: SKUS[tier], tier } })),
        { type: 'CustomerSubscribes', fields: { sku: 'GOLD', tier: 'professional' } },
        // To every tier, its own included (a change of cycle keeps the limits).
        ...TIERS.map((tier) => ({ type: 'CustomerUpgrades', fields: { fromSku: SKUS[d.tier ?? 'community'], toSku: SKUS[tier] } })),
        { type: 'CustomerUpgrades', fields: { fromSku: 'NOPE', toSku: 'PRO-MONTHLY' } },
        ...[450, 85_000, 120_000].map((quantity) => ({ type: 'UsageRecorded', fields: { metric: 'executions', quantity, idempotencyKey: 'new' } })),
        { type: 'UsageRecorded', fields: { metric: 'compute_gb_hours', quantity: 85_000, idempotencyKey: 'new' } },
        ...[450, 900].map((quantity) => ({ type: 'UsageRecorded', fields: { metric: 'executions', quantity, idempotencyKey: 'new' }, at: nextMonth })),
        { type: 'UsageRecorded', fields: { metric: 'executions', quantity: 1, idempotencyKey: 'seen' } },
        { type: 'UsageRecorded', fields: { metric: 'executions', quantity: 2, idempotencyKey: 'seen' } },
        { type: 'UsageExceedsQuota', fields: { resource: 'requests', usage: 11, limit: 10 } },
        { type: 'UsageExceedsQuota', fields: { resource: 'storage', usage: 11, limit: 10 } },
        { type: 'UsageExceedsQuota', fields: { resource: 'storage', usage: 0, limit: 0 } },
        { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
        { type: 'SuspensionLifted', fields: { actor: 'ops' } },
      ];
    },
    // Where the month's usage stands on each tier decides every transition; the month itself does not.
    abstract: (d) => [d.tier, ...TIERS.map((tier) => evaluateUsage(tier, d.ledger))],
    invariant: (state, d) => {
      // Nothing counts against a quota before there is a plan, and nothing leaves WithinLimits.
      if (!d.tier) expect([state, Object.values(d.ledger.totals).every((t) => t === '0')]).toEqual(['WithinLimits', true]);
      // Below Exceeded the state is exactly what the month's usage says.
      if (d.tier && (state === 'WithinLimits' || state === 'Warning')) expect(state).toBe(evaluateUsage(d.tier, d.ledger));
      expect(d.ledger).not.toHaveProperty('seen');
    },
  });

  it('reaches every state', () => expect(coverage.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(coverage.unreachedTransitions).toEqual([]));
  it('refuses without moving', () => expect(refusalsStay(quotaSlaDomain)).toEqual([]));
});

describe('Billing domain machine', () => {
  const DAY = 86_400_000;
  // A usage key counted and a payment applied before (their records), the records the decisions read.
  const records = (key: string) => (key === 'usage:seen' ? 'executions=1' : key === 'payment:p-paid' ? '99.00' : undefined);
  const coverage = traverseDomain(billingDomain, {
    records,
    samples: (d) => {
      const plan = d.plan;
      const cycleStart = plan?.cycleStart ?? T0;
      const otherTier = plan?.tier === 'enterprise' ? 'PRO-MONTHLY' : 'ENT-MONTHLY';
      const pay = (paymentId: string, amount: string, currency = 'USD') => ({ type: 'PaymentProcessed', fields: { paymentId, amount, currency } });
      return [
        { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
        { type: 'CustomerSubscribes', fields: { sku: 'COMMUNITY', tier: 'community' } },
        { type: 'CustomerSubscribes', fields: { sku: 'GOLD', tier: 'professional' } },
        // Mid-cycle (prorated) and before the cycle starts (nothing to prorate).
        { type: 'CustomerUpgrades', fields: { fromSku: plan?.sku ?? 'PRO-MONTHLY', toSku: otherTier }, at: cycleStart + 5 * DAY },
        { type: 'CustomerUpgrades', fields: { fromSku: plan?.sku ?? 'PRO-MONTHLY', toSku: otherTier }, at: cycleStart - DAY },
        { type: 'CustomerUpgrades', fields: { fromSku: 'NOPE', toSku: otherTier }, at: cycleStart + 5 * DAY },
        { type: 'RenewalDue', fields: { subscriptionId: 's1' }, at: plan ? cycleEnd(plan) - DAY : T0 },
        { type: 'RenewalDue', fields: { subscriptionId: 's1' }, at: cycleStart },
        pay('p-new', d.balance),
        pay('p-new', '1.00'),
        pay('p-paid', d.balance),
        pay('p-new', d.balance, 'EUR'),
        ...['f1', 'f2', 'p-paid', ''].map((paymentId) => ({ type: 'PaymentFailed', fields: { reason: 'card declined', paymentId } })),
        { type: 'UsageRecorded', fields: { metric: 'executions', quantity: 150_000, idempotencyKey: 'new' } },
        { type: 'UsageRecorded', fields: { metric: 'executions', quantity: 1, idempotencyKey: 'seen' } },
        { type: 'UsageRecorded', fields: { metric: 'executions', quantity: 2, idempotencyKey: 'seen' } },
        { type: 'CustomerCancels' },
        { type: 'UsageExceedsQuota', fields: { resource: 'executions', usage: 2, limit: 1 } },
        { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
        { type: 'SuspensionLifted', fields: { actor: 'ops' } },
      ];
    },
    abstract: (d) => [d.plan?.tier ?? null, new Dec(d.balance).gt(0), d.failedPayments.length, d.ledger.totals.executions !== '0'],
    limit: 100_000,
    invariant: (state, d) => {
      const balance = new Dec(d.balance);
      // Nothing is due exactly when the account is awaiting its next invoice.
      expect(state === 'AwaitingInvoice' ? balance.eq(0) : balance.gt(0)).toBe(true);
      // What is due is what the open invoices add up to: a payment settles them all.
      expect(d.openInvoices.reduce((sum, i) => sum.plus(i.total), new Dec(0)).toFixed(2)).toBe(balance.toFixed(2));
      // A dunning episode is its failures and the time it started; good standing has none.
      if (billingStanding(state as BillingState) === 'delinquent') expect([d.failedAt !== null, d.failedPayments.length > 0]).toEqual([true, true]);
      else expect([d.failedAt, d.failedPayments]).toEqual([null, []]);
      expect(d).not.toHaveProperty('payments');
      expect(d).not.toHaveProperty('invoices');
    },
  });

  it('reaches every state', () => expect(coverage.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(coverage.unreachedTransitions).toEqual([]));
  it('refuses without moving', () => expect(refusalsStay(billingDomain)).toEqual([]));
});
