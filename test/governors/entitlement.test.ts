import { describe, expect, it } from 'vitest';
import { createEntitlementGovernor, decideEntitlement, entitlementGovernor, type EntitlementData, type EntitlementState } from '../../machines/governors/entitlement.ts';
import { LicenceVerifier } from '../../src/marketplace/licence-verifier.ts';
import { addPublicKey, emptyKeyring, signingKeyFromSeed } from '../../src/marketplace/signing-keys.ts';
import { T0, days } from './model-support.ts';
import { checkRow, ev, given, type Row } from './domain-support.ts';

const subscribe = (sku = 'PRO-MONTHLY', tier = 'professional') => ev('CustomerSubscribes', { sku, tier });
const paid = () => ev('PaymentProcessed', { amount: '99.00', currency: 'USD', paymentId: 'p1' }, 40);
const failed = () => ev('PaymentFailed', { reason: 'declined', paymentId: 'f1' }, 40);
const suspend = () => ev('ManualSuspension', { reason: 'abuse', actor: 'ops' }, 41);
const upgrade = (fromSku = 'PRO-MONTHLY', toSku = 'ENT-MONTHLY') => ev('CustomerUpgrades', { fromSku, toSku }, 20);

const rows: Row<EntitlementState, EntitlementData>[] = [
  { name: 'a subscription activates the tier', history: [], event: subscribe(), status: 'applied', state: 'Active',
    check: (d, reply) => expect([d.plan?.tier, reply.facts?.entitlement]).toEqual(['professional', 'active']) },
  { name: 'a second subscription is refused', history: [subscribe()], event: subscribe(), status: 'rejected', reason: /already entitled to PRO-MONTHLY/ },
  { name: 'a cancelled entitlement is reactivated by a new subscription', history: [subscribe(), ev('CustomerCancels')], event: subscribe('ENT-MONTHLY', 'enterprise'), status: 'applied', state: 'Active' },
  { name: 'a suspended entitlement cannot be subscribed around', history: [subscribe(), suspend()], event: subscribe(), status: 'rejected', reason: /suspended \(manual hold\)/ },
  { name: 'an upgrade changes the tier', history: [subscribe()], event: upgrade(), status: 'applied', state: 'Active', check: (d) => expect(d.plan?.tier).toBe('enterprise') },
  { name: 'a downgrade changes the tier too', history: [subscribe('ENT-MONTHLY', 'enterprise')], event: upgrade('ENT-MONTHLY', 'PRO-MONTHLY'), status: 'applied', check: (d) => expect(d.plan?.tier).toBe('professional') },
  { name: 'a change from a plan the customer is not on is refused', history: [subscribe()], event: upgrade('ENT-MONTHLY', 'PRO-MONTHLY'), status: 'rejected', reason: /entitled to PRO-MONTHLY, not ENT-MONTHLY/ },
  { name: 'a change to the same tier is refused', history: [subscribe()], event: upgrade('PRO-MONTHLY', 'PROFESSIONAL'), status: 'rejected', reason: /same tier/ },
  { name: 'a change during grace waits for the payment', history: [subscribe(), failed()], event: upgrade(), status: 'rejected', reason: /payment overdue/ },
  { name: 'a failed payment starts the grace period: service on, not active', history: [subscribe()], event: failed(), status: 'applied', state: 'Grace',
    check: (d, reply) => expect([d.dunning, reply.facts?.entitlement]).toEqual(['grace', 'grace']) },
  { name: 'a payment during grace restores the entitlement', history: [subscribe(), failed()], event: paid(), status: 'applied', state: 'Active' },
  { name: 'a payment after grace reinstates a dunning suspension', history: [subscribe(), failed(), 'timeout'], event: paid(), status: 'applied', state: 'Active' },
  { name: 'a payment does not lift a manual suspension', history: [subscribe(), failed(), suspend()], event: paid(), status: 'applied', state: 'Suspended',
    check: (d) => expect([d.manualHold, d.dunning]).toEqual([true, 'none']) },
  { name: 'a payment with nothing unpaid changes nothing', history: [subscribe()], event: paid(), status: 'not_applicable' },
  { name: 'a second failure during grace changes nothing', history: [subscribe(), failed()], event: failed(), status: 'not_applicable' },
  { name: 'a manual suspension suspends', history: [subscribe()], event: suspend(), status: 'applied', state: 'Suspended', check: (d) => expect(d.manualHold).toBe(true) },
  { name: 'a manual suspension of a cancelled entitlement does nothing', history: [subscribe(), ev('CustomerCancels')], event: suspend(), status: 'not_applicable' },
  { name: 'a cancellation ends a live entitlement', history: [subscribe(), failed()], event: ev('CustomerCancels'), status: 'applied', state: 'Cancelled',
    check: (d) => expect([d.dunning, d.manualHold, d.licence]).toEqual(['none', false, null]) },
  { name: 'a renewal of a terminated entitlement is refused', history: [subscribe(), suspend(), 'timeout'], event: ev('RenewalDue', { subscriptionId: 's' }, 90), status: 'rejected', reason: /no entitlement to renew \(terminated\)/ },
  { name: 'a renewal while suspended waits', history: [subscribe(), suspend()], event: ev('RenewalDue', { subscriptionId: 's' }, 50), status: 'rejected', reason: /renewals wait/ },
  { name: 'quota breaches are QuotaSla’s', history: [subscribe()], event: ev('UsageExceedsQuota', { resource: 'x', usage: 2, limit: 1 }), status: 'not_applicable' },
];

describe('Entitlement rules', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => checkRow(entitlementGovernor, row));

  it('suspends when grace ends, terminates 30 days later; a cancellation expires after the reactivation window', () => {
    expect(given(entitlementGovernor, [subscribe(), failed(), 'timeout']).state).toBe('Suspended');
    expect(given(entitlementGovernor, [subscribe(), failed(), 'timeout', 'timeout']).state).toBe('Terminated');
    const expired = given(entitlementGovernor, [subscribe(), ev('CustomerCancels'), 'timeout']);
    expect([expired.state, expired.data.plan]).toEqual(['Expired', null]);
    expect(entitlementGovernor.timeouts?.Grace?.ms).toBe(days(7));
  });

  it('lifting a manual hold resumes where dunning stands (decided now, routed once the schema has SuspensionLifted)', () => {
    const lift = ev('SuspensionLifted', { reason: 'appeal granted', actor: 'ops' });
    const held = given(entitlementGovernor, [subscribe(), suspend()]);
    expect(decideEntitlement(held.state, held.data, lift, 'c1').next?.state).toBe('Active');
    const heldInDunning = given(entitlementGovernor, [subscribe(), suspend(), failed()]);
    expect(decideEntitlement(heldInDunning.state, heldInDunning.data, lift, 'c1').next?.state).toBe('Grace');
    const active = given(entitlementGovernor, [subscribe()]);
    expect(decideEntitlement(active.state, active.data, lift, 'c1').status).toBe('not_applicable');
  });

  it('issues an Ed25519 licence key that verifies offline with the public key alone, and reissues it on upgrade', () => {
    const key = signingKeyFromSeed('k1', Buffer.alloc(32, 3));
    const governor = createEntitlementGovernor({ signingKey: key });
    const active = given(governor, [subscribe()]);
    const verifier = new LicenceVerifier({ keyring: addPublicKey(emptyKeyring(), key), now: () => T0 + days(21) });
    const result = verifier.verify(active.data.licence);
    expect(result).toMatchObject({ ok: true, licence: { tier: 'professional', organisation: 'c1', expiresAt: T0 + days(365) } });
    const upgraded = given(governor, [subscribe(), upgrade()]);
    expect(upgraded.data.licence).not.toBe(active.data.licence);
    expect(verifier.verify(upgraded.data.licence)).toMatchObject({ ok: true, licence: { tier: 'enterprise', id: 'lic-2' } });
    expect(given(governor, [subscribe(), ev('CustomerCancels')]).data.licence).toBeNull();
  });
});
