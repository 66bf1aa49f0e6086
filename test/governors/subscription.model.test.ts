import { describe, expect, it } from 'vitest';
import { subscriptionGovernor, subscriptionMachine, type SubscriptionData, type SubscriptionState } from '../../machines/governors/subscription.ts';
import { cycleEnd } from '../../machines/governors/plan.ts';
import type { GovernorContext } from '../../machines/governors/governor-kit.ts';
import { T0, days, traverseGovernor, type Sample } from './model-support.ts';

type C = GovernorContext<SubscriptionState, SubscriptionData>;

function samples(c: C): Sample[] {
  const plan = c.data.plan;
  const renewalAt = plan ? cycleEnd(plan) - days(1) : T0;
  return [
    { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
    { type: 'CustomerSubscribes', fields: { sku: 'BOGUS', tier: 'professional' } },
    { type: 'CustomerUpgrades', fields: { fromSku: plan?.sku ?? 'PRO-MONTHLY', toSku: plan?.tier === 'enterprise' ? 'PRO-MONTHLY' : 'ENT-MONTHLY' } },
    { type: 'RenewalDue', fields: { subscriptionId: c.data.subscriptionId ?? 'none' }, at: renewalAt },
    { type: 'CustomerCancels', fields: { reason: 'too expensive' } },
    { type: 'ManualSuspension', fields: { reason: 'fraud review', actor: 'ops' } },
    { type: 'PaymentProcessed', fields: { amount: '1.00', currency: 'USD', paymentId: 'p1' } },
  ];
}

describe('Subscription governor, traversed with xstate/graph', () => {
  const result = traverseGovernor(subscriptionGovernor, subscriptionMachine, {
    samples,
    abstract: (c) => [c.data.trialUsed, c.data.plan?.tier ?? null, c.data.renewals > 0],
    invariant: (c) => {
      // A running subscription always has a plan and an id; an archived one keeps neither.
      if (c.state === 'Trial' || c.state === 'Active' || c.state === 'Cancelled') {
        expect(c.data.plan).not.toBeNull();
        expect(c.data.subscriptionId).not.toBeNull();
      }
      if (c.state === 'Archived') expect(c.data.plan).toBeNull();
      if (c.state === 'Trial') expect(c.data.trialUsed).toBe(true);
      if (c.state === 'Cancelled') expect(c.data.cancelledAt).not.toBeNull();
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
