import { describe, expect, it } from 'vitest';
import { customerAccountGovernor, customerAccountMachine, type AccountData, type AccountState } from '../../machines/governors/customer-account.ts';
import type { GovernorContext } from '../../machines/governors/governor-kit.ts';
import { traverseGovernor, type Sample } from './model-support.ts';

type C = GovernorContext<AccountState, AccountData>;

const samples = (): Sample[] => [
  { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
  { type: 'PaymentProcessed', fields: { amount: '99.00', currency: 'USD', paymentId: 'p1' } },
  { type: 'PaymentFailed', fields: { reason: 'card declined', paymentId: 'f1' } },
  { type: 'UsageExceedsQuota', fields: { resource: 'executions', usage: 2, limit: 1 } },
  { type: 'ManualSuspension', fields: { reason: 'fraud review', actor: 'ops' } },
  { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
  { type: 'CustomerCancels' },
];

const LIVE = ['Active', 'PastDue', 'Suspended', 'UnderReview'];

describe('CustomerAccount governor, traversed with xstate/graph', () => {
  const result = traverseGovernor(customerAccountGovernor, customerAccountMachine, {
    samples,
    abstract: (c: C) => [c.data.hold, c.data.dunning, c.data.charges.length > 0, c.data.activity.length > 0, c.data.openedAt !== null],
    invariant: (c: C) => {
      const d = c.data;
      if (c.state === 'Active') expect([d.hold, d.dunning]).toEqual(['none', 'none']);
      if (c.state === 'PastDue') expect([d.hold, d.dunning]).toEqual(['none', 'past_due']);
      if (c.state === 'UnderReview') expect(d.hold).toBe('review');
      if (c.state === 'Suspended') expect(d.hold === 'suspended' || (d.hold === 'none' && d.dunning === 'suspended')).toBe(true);
      if (d.hold !== 'none' && LIVE.includes(c.state)) expect(d.holdReason).not.toBeNull();
      if (c.state === 'Archived') expect([d.charges, d.activity, d.holdReason]).toEqual([[], [], null]);
      expect(d.lastScore).toBeGreaterThanOrEqual(0);
      expect(d.lastScore).toBeLessThanOrEqual(70);
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
