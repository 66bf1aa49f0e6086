import { describe, expect, it } from 'vitest';
import { complianceGovernor, decideCompliance, type ComplianceData, type ComplianceState } from '../../machines/governors/compliance.ts';
import { T0 } from './model-support.ts';
import { checkRow, ev, given, type Row } from './domain-support.ts';

const subscribe = (at = 0) => ev('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' }, at);
const failed = () => ev('PaymentFailed', { reason: 'declined', paymentId: 'f' });
const suspend = () => ev('ManualSuspension', { reason: 'abuse', actor: 'ops' });
const cancel = () => ev('CustomerCancels');

const rows: Row<ComplianceState, ComplianceData>[] = [
  { name: 'a subscription is recorded', history: [], event: subscribe(), status: 'applied', state: 'Compliant', check: (d) => expect(d.subscribedAt).toBe(T0) },
  { name: 'a suspension opens an audit', history: [subscribe()], event: suspend(), status: 'applied', state: 'UnderAudit', check: (d) => expect(d.auditReason).toBe('suspension by ops: abuse') },
  { name: 'five failed payments in a day open an AML audit', history: [subscribe(), failed(), failed(), failed(), failed()], event: failed(), status: 'applied', state: 'UnderAudit',
    check: (d) => expect(d.auditReason).toMatch(/^AML: 5 failed payments/) },
  { name: 'four do not', history: [subscribe(), failed(), failed(), failed()], event: failed(), status: 'applied', state: 'Compliant' },
  { name: 'no subscription while an audit is open', history: [subscribe(), suspend()], event: subscribe(1), status: 'rejected', reason: /audit is open/ },
  { name: 'a non-compliant customer’s subscription is left to the hold and its manual override', history: [subscribe(), suspend(), 'timeout'], event: subscribe(1), status: 'not_applicable',
    check: (_d, reply) => expect(reply.facts).toMatchObject({ hold: true }) },
  { name: 'a cancellation starts retention', history: [subscribe()], event: cancel(), status: 'applied', state: 'Retaining' },
  { name: 'an open audit is a legal hold: retention waits', history: [subscribe(), suspend()], event: cancel(), status: 'applied', state: 'UnderAudit', check: (d) => expect(d.cancelledAt).toBe(T0) },
  { name: 'a returning customer leaves retention', history: [subscribe(), cancel()], event: subscribe(3), status: 'applied', state: 'Compliant', check: (d) => expect(d.cancelledAt).toBeNull() },
];

describe('Compliance rules', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => checkRow(complianceGovernor, row));

  it('erases everything but the fact of erasure when retention ends', () => {
    const erased = given(complianceGovernor, [subscribe(), failed(), cancel(), 'timeout']);
    expect([erased.state, erased.data]).toEqual(['Erased', { failures: [], auditReason: null, auditOpenedAt: null, subscribedAt: null, cancelledAt: null, erased: true }]);
  });

  it('answers a GDPR export with everything it holds', () => {
    const view = given(complianceGovernor, [subscribe()]);
    expect(complianceGovernor.queries!.export!({ customerId: 'c1', state: view.state, version: view.version, data: view.data }, {})).toEqual({
      customerId: 'c1',
      governor: 'Compliance',
      state: 'Compliant',
      record: view.data,
    });
  });

  it('closes an audit when the suspension is lifted (decided now; routed once the schema has SuspensionLifted)', () => {
    const lift = ev('SuspensionLifted', { reason: 'reviewed', actor: 'ops' });
    const audited = given(complianceGovernor, [subscribe(), suspend()]);
    expect(decideCompliance(audited.state, audited.data, lift).next?.state).toBe('Compliant');
    const cancelledDuringAudit = given(complianceGovernor, [subscribe(), suspend(), cancel()]);
    expect(decideCompliance(cancelledDuringAudit.state, cancelledDuringAudit.data, lift).next?.state).toBe('Retaining');
  });
});
