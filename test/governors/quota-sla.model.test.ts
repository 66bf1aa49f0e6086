import { describe, expect, it } from 'vitest';
import { evaluateUsage, quotaSlaGovernor, quotaSlaMachine, type QuotaData, type QuotaState } from '../../machines/governors/quota-sla.ts';
import type { GovernorContext } from '../../machines/governors/governor-kit.ts';
import { traverseGovernor, type Sample } from './model-support.ts';

type C = GovernorContext<QuotaState, QuotaData>;

function samples(c: C): Sample[] {
  const sku = c.data.tier === 'professional' ? 'PRO-MONTHLY' : 'COMMUNITY';
  return [
    { type: 'CustomerSubscribes', fields: { sku: 'COMMUNITY', tier: 'community' } },
    { type: 'CustomerUpgrades', fields: { fromSku: sku, toSku: sku === 'COMMUNITY' ? 'PRO-MONTHLY' : 'COMMUNITY' } },
    { type: 'UsageRecorded', fields: { metric: 'executions', quantity: 450, idempotencyKey: `u-${c.version}` } },
    { type: 'UsageRecorded', fields: { metric: 'executions', quantity: 1, idempotencyKey: 'same-key' } },
    { type: 'UsageExceedsQuota', fields: { resource: 'requests', usage: 11, limit: 10 } },
    { type: 'UsageExceedsQuota', fields: { resource: 'storage', usage: 11, limit: 10 } },
    { type: 'UsageExceedsQuota', fields: { resource: 'storage', usage: 0, limit: 0 } },
    { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
  ];
}

describe('QuotaSla governor, traversed with xstate/graph', () => {
  const result = traverseGovernor(quotaSlaGovernor, quotaSlaMachine, {
    samples,
    abstract: (c: C) => [c.data.tier, Math.min(3, Math.floor(Number(c.data.ledger.totals.executions) / 450)), c.data.lastBreach?.hard ?? null],
    invariant: (c: C) => {
      // The data keeps no usage keys: those are records.
      expect(c.data.ledger).not.toHaveProperty('seen');
      // Nothing counts against a quota before there is a plan.
      if (!c.data.tier) expect([c.state, c.data.ledger.totals.executions]).toEqual(['WithinLimits', '0']);
      // Below Exceeded, the state is exactly what the month's usage says: only a breach report
      // or throttling (which ends with its timer) may differ from it.
      if (c.data.tier && (c.state === 'WithinLimits' || c.state === 'Warning')) expect(c.state).toBe(evaluateUsage(c.data.tier, c.data.ledger));
      if (c.state !== 'WithinLimits') expect(c.data.tier).not.toBeNull();
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
