import { describe, expect, it } from 'vitest';
import { subscriptionGovernor, type SubscriptionData, type SubscriptionState } from '../../machines/governors/subscription.ts';
import { parseSku, planOfSubscription, renewalCheck } from '../../machines/governors/plan.ts';
import { T0, days } from './model-support.ts';
import { checkRow, ev, given, type Row } from './domain-support.ts';

const subscribe = (sku = 'PRO-MONTHLY', tier = 'professional', at = 0) => ev('CustomerSubscribes', { sku, tier }, at);
const first = subscribe();
const renew = (at: number, subscriptionId = first.eventId) => ev('RenewalDue', { subscriptionId }, at);

const rows: Row<SubscriptionState, SubscriptionData>[] = [
  { name: 'a first paid subscription starts a 14-day trial', history: [], event: subscribe(), status: 'applied', state: 'Trial',
    check: (d) => expect([d.trialUsed, d.plan?.cycleStart]).toEqual([true, T0 + days(14)]) },
  { name: 'Community is free: no trial', history: [], event: subscribe('COMMUNITY', 'community'), status: 'applied', state: 'Active' },
  { name: 'a trial is given once per customer', history: [subscribe(), ev('CustomerCancels'), 'timeout'], event: subscribe('ENT-MONTHLY', 'enterprise', 40), status: 'applied', state: 'Active' },
  { name: 'within the window a cancellation is reactivated as the same subscription', history: [first, ev('CustomerCancels', {}, 1)], event: subscribe('PRO-MONTHLY', 'professional', 5), status: 'applied',
    check: (d) => expect(d.subscriptionId).toBe(first.eventId) },
  { name: 'after the window it is a new subscription', history: [first, ev('CustomerCancels', {}, 1), 'timeout'], event: subscribe('PRO-MONTHLY', 'professional', 40), status: 'applied',
    check: (d) => expect(d.subscriptionId).not.toBe(first.eventId) },
  { name: 'a second subscription is refused', history: [subscribe()], event: subscribe(), status: 'rejected', reason: /already subscribed to PRO-MONTHLY/ },
  { name: 'an upgrade changes the plan and says the tier changed', history: [first], event: ev('CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }, 20), status: 'applied',
    check: (d, reply) => expect([d.plan?.tier, reply.facts?.tierChanged]).toEqual(['enterprise', true]) },
  { name: 'a change of billing cycle mid-subscription is refused', history: [first], event: ev('CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'ENT-ANNUAL' }, 20), status: 'rejected', reason: /billing cycle/ },
  { name: 'a change with no subscription is refused', history: [], event: ev('CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }), status: 'rejected', reason: /no active subscription/ },
  { name: 'a renewal in the trial is refused', history: [first], event: renew(10), status: 'rejected', reason: /in trial/ },
  { name: 'a renewal moves the cycle on', history: [first, 'timeout'], event: renew(40), status: 'applied', state: 'Active',
    check: (d) => expect([d.renewals, d.plan?.cycleStart]).toEqual([1, T0 + days(44)]) },
  { name: 'a renewal of another subscription is refused', history: [first, 'timeout'], event: renew(40, 'sub-x'), status: 'rejected', reason: /unknown subscription "sub-x"/ },
  { name: 'a renewal delivered twice renews once', history: [first, 'timeout', renew(40)], event: renew(40), status: 'rejected', reason: /renewal not due before/ },
  { name: 'a cancellation opens the reactivation window', history: [first], event: ev('CustomerCancels', {}, 3), status: 'applied', state: 'Cancelled', check: (d) => expect(d.cancelledAt).toBe(T0 + days(3)) },
  { name: 'a cancellation with nothing to cancel is refused', history: [], event: ev('CustomerCancels'), status: 'rejected', reason: /no active subscription/ },
  { name: 'a suspension does not change the term', history: [first], event: ev('ManualSuspension', { reason: 'abuse', actor: 'ops' }), status: 'not_applicable' },
];

describe('Subscription rules', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => checkRow(subscriptionGovernor, row));

  it('converts a trial after 14 days, lapses 30 days after a cancellation and archives a year later', () => {
    expect(given(subscriptionGovernor, [first, 'timeout']).state).toBe('Active');
    expect(given(subscriptionGovernor, [first, ev('CustomerCancels'), 'timeout']).state).toBe('Lapsed');
    const archived = given(subscriptionGovernor, [first, ev('CustomerCancels'), 'timeout', 'timeout']);
    expect([archived.state, archived.data.plan, archived.data.subscriptionId, archived.data.trialUsed]).toEqual(['Archived', null, null, true]);
    expect(subscriptionGovernor.timeouts?.Trial?.ms).toBe(days(14));
  });
});

describe('plans and SKUs', () => {
  it.each([
    ['PRO-MONTHLY', { tier: 'professional', cycle: 'monthly' }],
    ['pro', { tier: 'professional', cycle: 'monthly' }],
    ['ENT-ANNUAL', { tier: 'enterprise', cycle: 'annual' }],
    ['ENTERPRISE-3YEAR', { tier: 'enterprise', cycle: 'three_year' }],
    ['COMMUNITY', { tier: 'community', cycle: 'monthly' }],
  ])('reads %s', (sku, plan) => expect(parseSku(sku)).toMatchObject(plan));

  it.each(['GOLD', 'PRO-WEEKLY', 'PRO-MONTHLY-X', 'COMMUNITY-ANNUAL', '', 'x'.repeat(65)])('refuses %j', (sku) => expect(parseSku(sku)).toHaveProperty('error'));

  it('requires the tier and the SKU to agree, whatever the case of the tier', () => {
    expect(planOfSubscription({ sku: 'PRO-MONTHLY', tier: 'Professional' })).toMatchObject({ tier: 'professional' });
    expect(planOfSubscription({ sku: 'PRO-MONTHLY', tier: 'gold' })).toHaveProperty('error');
  });

  it('opens a renewal 7 days before the cycle ends', () => {
    const plan = { sku: 'PRO-MONTHLY', tier: 'professional' as const, cycle: 'monthly' as const, cycleStart: T0 };
    expect(renewalCheck(plan, T0 + days(23) - 1).due).toBe(false);
    expect(renewalCheck(plan, T0 + days(23)).due).toBe(true);
  });
});
