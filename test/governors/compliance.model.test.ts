import { describe, expect, it } from 'vitest';
import { complianceGovernor, complianceMachine, type ComplianceData, type ComplianceState } from '../../machines/governors/compliance.ts';
import type { GovernorContext } from '../../machines/governors/governor-kit.ts';
import { traverseGovernor, type Sample } from './model-support.ts';

type C = GovernorContext<ComplianceState, ComplianceData>;

const samples = (): Sample[] => [
  { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
  { type: 'PaymentFailed', fields: { reason: 'card declined', paymentId: 'f1' } },
  { type: 'CustomerCancels' },
  { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
  { type: 'CustomerErasureRequested', fields: { requestedBy: 'ops.dpo' } },
];

describe('Compliance governor, traversed with xstate/graph', () => {
  const result = traverseGovernor(complianceGovernor, complianceMachine, {
    samples,
    abstract: (c: C) => [Math.min(c.data.failures.length, 5), c.data.subscribedAt !== null, c.data.cancelledAt !== null, c.data.erased],
    invariant: (c: C) => {
      const d = c.data;
      if (c.state === 'UnderAudit' || c.state === 'NonCompliant') expect([d.auditReason !== null, d.auditOpenedAt !== null]).toEqual([true, true]);
      if (c.state === 'Retaining') expect(d.cancelledAt).not.toBeNull();
      // Erasure keeps nothing but the fact of it.
      if (c.state === 'Erased') expect(d).toEqual({ failures: [], auditReason: null, auditOpenedAt: null, subscribedAt: null, cancelledAt: null, erased: true });
      else expect(d.erased).toBe(false);
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
