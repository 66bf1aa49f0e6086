/**
 * The chaos run's rules model (`chaos-model.ts`): it predicts what the rules say on hand-worked
 * cases, it reports a wrong outcome as a mismatch, and it agrees with the governors on the chaos
 * workload (a differential test: the model is written from the rules, the governors are the code,
 * so a disagreement is a misread rule on one side).
 */
import { describe, expect, it } from 'vitest';
import { governorDefinitions } from '../../machines/index.ts';
import { MarketplaceModel } from '../../src/cli/check/reference-model.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { chaosWorkload } from './chaos-events.ts';
import { RulesModel, viewDifferences } from './chaos-model.ts';
import { observedOutcomes, observedView } from './chaos-observed.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2024-01-01T00:00:00Z');
let n = 0;
const at = (days: number, fields: Record<string, unknown> & { type: string }): LifecycleEvent =>
  ({ eventId: `e${++n}`, customerId: 'c1', occurredAt: new Date(T0 + days * DAY + 3_600_000).toISOString(), ...fields }) as LifecycleEvent;

describe('the rules model', () => {
  it('prorates an upgrade into the next invoice and settles it with a payment', () => {
    const model = new RulesModel();
    expect(model.submit(at(0, { type: 'CustomerSubscribes', sku: 'COMMUNITY', tier: 'community' }))).toBe('completed');
    // Community → Professional with 20 of 30 days left: 99 / 30 × 20 = 66.00.
    expect(model.submit(at(10, { type: 'CustomerUpgrades', fromSku: 'COMMUNITY', toSku: 'PRO-MONTHLY' }))).toBe('completed');
    expect(model.submit(at(12, { type: 'RenewalDue', subscriptionId: 'e1' }))).toBe('rejected'); // not due before day 23
    expect(model.submit(at(20, { type: 'UsageRecorded', metric: 'executions', quantity: 100_250, idempotencyKey: 'u1' }))).toBe('completed');
    expect(model.submit(at(23, { type: 'RenewalDue', subscriptionId: 'e1' }))).toBe('completed');
    // 99 base + 250 × 0.01 overage + 66 proration.
    expect(model.view('c1')).toMatchObject({ billing: 'InvoiceIssued', balance: '167.50', invoices: 1, invoiced: '167.50', entitlement: 'Active', receipts: 4 });
    expect(model.submit(at(24, { type: 'PaymentProcessed', amount: '167.49', currency: 'USD', paymentId: 'p1' }))).toBe('completed');
    expect(model.submit(at(25, { type: 'PaymentProcessed', amount: '1.00', currency: 'USD', paymentId: 'p2' }))).toBe('rejected');
    expect(model.view('c1')).toMatchObject({ billing: 'AwaitingInvoice', balance: '0.00', receipts: 5 });
  });

  it('reports a wrong outcome: an invoice a cent off, a lost receipt, a suspended entitlement, an outcome turned', () => {
    const model = new RulesModel();
    const subscribes = at(0, { type: 'CustomerSubscribes', sku: 'COMMUNITY', tier: 'community' });
    const events = [
      subscribes,
      at(5, { type: 'CustomerUpgrades', fromSku: 'COMMUNITY', toSku: 'ENT-MONTHLY' }),
      at(23, { type: 'RenewalDue', subscriptionId: subscribes.eventId }),
    ];
    for (const e of events) expect(model.submit(e)).toBe('completed');
    const right = model.view('c1');
    // 999 base + 999 / 30 × 25 days left = 832.50 proration.
    expect(right).toMatchObject({ invoices: 1, invoiced: '1831.50', balance: '1831.50', billing: 'InvoiceIssued' });
    expect(viewDifferences(right, right)).toEqual([]);
    expect(viewDifferences(right, { ...right, invoiced: '1832.34' })).toEqual([`invoiced: 1832.34, the rules say ${right.invoiced}`]);
    expect(viewDifferences(right, { ...right, receipts: right.receipts - 1 })).toHaveLength(1);
    expect(viewDifferences(right, { ...right, entitlement: 'Suspended' })).toHaveLength(1);
    // The same events folded by a model that saw the upgrade refused: another invoice.
    const other = new RulesModel();
    other.submit(events[0]!);
    other.submit(events[2]!);
    expect(viewDifferences(right, other.view('c1'))).not.toEqual([]);
  });

  it('ends a backdated trial at once, and runs a backdated dunning to collections and the entitlement to termination (README "Time")', () => {
    const model = new RulesModel();
    const now = T0 + 400 * DAY;
    expect(model.submit(at(0, { type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' }), now)).toBe('completed');
    // The trial ended on day 14, long before the node's clock: Active, and the first cycle's renewal opens on day 14 + 23.
    expect(model.view('c1')).toMatchObject({ subscription: 'Active', entitlement: 'Active' });
    expect(model.submit(at(36, { type: 'RenewalDue', subscriptionId: 'e3' }), now)).toBe('rejected');
    const renewal = at(37, { type: 'RenewalDue', subscriptionId: `e${n - 1}` });
    expect(model.submit(renewal, now)).toBe('completed');
    expect(model.view('c1')).toMatchObject({ billing: 'InvoiceIssued', balance: '99.00', invoices: 1 });
    expect(model.submit(at(38, { type: 'PaymentFailed', reason: 'card declined', paymentId: 'f1' }), now)).toBe('completed');
    expect(model.view('c1')).toMatchObject({ billing: 'Collections', entitlement: 'Terminated' });
    // Paid at last: Billing is settled; the terminated entitlement stays so (a new subscription is needed).
    expect(model.submit(at(60, { type: 'PaymentProcessed', amount: '99.00', currency: 'USD', paymentId: 'p1' }), now)).toBe('completed');
    expect(model.view('c1')).toMatchObject({ billing: 'AwaitingInvoice', balance: '0.00', entitlement: 'Terminated' });
  });

  it('gives no trial to a subscriber who declines it: the first cycle starts at once, renewable from day 23', () => {
    const model = new RulesModel();
    const now = T0 + 10 * DAY; // the node's clock: the trial would not have ended yet
    const subscribes = at(0, { type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional', trial: false });
    expect(model.submit(subscribes, now)).toBe('completed');
    expect(model.view('c1').subscription).toBe('Active');
    expect(model.submit(at(22, { type: 'RenewalDue', subscriptionId: subscribes.eventId }), now)).toBe('rejected');
    expect(model.submit(at(23, { type: 'RenewalDue', subscriptionId: subscribes.eventId }), now)).toBe('completed');
    const trial = new RulesModel();
    trial.submit({ ...subscribes, eventId: 'other', trial: undefined } as LifecycleEvent, now);
    expect(trial.view('c1').subscription).toBe('Trial');
  });
});

/** The governors' states for one customer from the code's own fold, as the chaos run reads Redis. */
function codeContexts(model: MarketplaceModel, customerId: string): Map<string, unknown> {
  const customer = model.customer(customerId);
  const contexts = new Map<string, unknown>(Object.entries(customer.governors).map(([kind, g]) => [kind, g!.context]));
  // Billing's invoices are records beside its state: seen with its context, as the chaos run reads Redis.
  const billing = customer.governors.Billing;
  if (billing) contexts.set('Billing', { ...billing.context, records: Object.fromEntries(billing.committed) });
  contexts.set('Receipts', { receipts: customer.receipts.map((eventId) => ({ entry: { eventId } })) });
  contexts.set('Orchestrator', { handled: [...customer.handled].map(([eventId, record]) => ({ eventId, ...record })) });
  return contexts;
}

describe('the rules model and the governors', () => {
  for (const seed of [1, 2, 3]) {
    it(`agree on the chaos workload (seed ${seed}): every outcome and every customer's end state`, () => {
      const workload = chaosWorkload({ events: 3_000, customers: 60, seed, run: `d${seed}` });
      const code = new MarketplaceModel(governorDefinitions());
      for (const event of workload.sequence) code.submit(event, Date.now());
      const differences: string[] = [];
      for (const customerId of workload.customers) {
        const contexts = codeContexts(code, customerId);
        const expected = workload.model.outcomes(customerId);
        const observed = observedOutcomes(contexts);
        expected.forEach((e, i) => {
          if (observed[i]?.eventId !== e.eventId || observed[i]?.outcome !== e.outcome) {
            differences.push(`${customerId} ${e.eventId} (${workload.byId.get(e.eventId)?.type}): ${observed[i]?.outcome}, the rules say ${e.outcome}`);
          }
        });
        for (const d of viewDifferences(workload.model.view(customerId), observedView(contexts))) differences.push(`${customerId} ${d}`);
      }
      expect(differences.slice(0, 10)).toEqual([]);
    });
  }
});
