import { describe, expect, it } from 'vitest';
import { createEntitlementGovernor, type EntitlementData, type EntitlementState } from '../../machines/governors/entitlement.ts';
import { defineGovernor, type GovernorContext } from '../../machines/governors/governor-kit.ts';
import { cycleEnd, startPlan } from '../../machines/governors/plan.ts';
import { signingKeyFromSeed } from '../../src/marketplace/signing-keys.ts';
import { T0, days, traverseGovernor, type Sample } from './model-support.ts';

type C = GovernorContext<EntitlementState, EntitlementData>;

// With a signing key, so licence issuing, renewal and revocation are traversed too.
const governor = createEntitlementGovernor({ signingKey: signingKeyFromSeed('test', Buffer.alloc(32, 7)) });
const machine = defineGovernor(governor);

function samples(c: C): Sample[] {
  const sku = c.data.plan?.sku ?? 'PRO-MONTHLY';
  const renewalAt = c.data.plan ? cycleEnd(startPlan(c.data.plan, T0, false)) : T0;
  return [
    { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
    { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'enterprise' } },
    { type: 'CustomerUpgrades', fields: { fromSku: sku, toSku: sku === 'ENT-MONTHLY' ? 'PRO-MONTHLY' : 'ENT-MONTHLY' } },
    { type: 'PaymentProcessed', fields: { amount: '99.00', currency: 'USD', paymentId: 'p1' } },
    { type: 'PaymentFailed', fields: { reason: 'card declined', paymentId: 'f1' } },
    { type: 'CustomerCancels' },
    { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
    { type: 'RenewalDue', fields: { subscriptionId: 's1' }, at: renewalAt - days(1) },
    { type: 'UsageExceedsQuota', fields: { resource: 'executions', usage: 2, limit: 1 } },
  ];
}

describe('Entitlement governor, traversed with xstate/graph', () => {
  const result = traverseGovernor(governor, machine, {
    samples,
    abstract: (c) => [c.data.plan?.tier ?? null, c.data.manualHold, c.data.dunning, c.data.licence !== null],
    invariant: (c) => {
      const d = c.data;
      // The state is exactly what the two reasons to be off say it is.
      if (c.state === 'Active') expect([d.manualHold, d.dunning, d.plan !== null, d.licence !== null]).toEqual([false, 'none', true, true]);
      if (c.state === 'Grace') expect([d.manualHold, d.dunning]).toEqual([false, 'grace']);
      if (c.state === 'Suspended') expect(d.manualHold || d.dunning === 'suspended').toBe(true);
      if (['Cancelled', 'Expired', 'Terminated'].includes(c.state)) expect([d.licence, d.manualHold]).toEqual([null, false]);
      if (c.state === 'Expired') expect(d.plan).toBeNull();
      if (c.state === 'Inactive') expect(d.plan).toBeNull();
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
