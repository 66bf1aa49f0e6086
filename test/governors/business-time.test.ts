/**
 * The rule for time (`machines/governors/business-time.ts`, README "Time"): decisions use the
 * event's `occurredAt`, business deadlines are computed from it and armed on the node's clock as
 * absolute deadlines, a deadline the timer has not fired yet still counts for an event after it,
 * and the trial is the catalog's. Pure decisions through the kit's protocol, and the same rules on
 * an embedded node with a simulated clock (real actors, real timers).
 */
import { describe, expect, it } from 'vitest';
import { EntityHost, MemoryStore, SimulatedClock, createNode, sys, type Node } from '../../src/index.ts';
import { marketplaceKinds } from '../../machines/index.ts';
import type { Outcome } from '../../machines/orchestrator.ts';
import { billingGovernor, type BillingData, type BillingState } from '../../machines/governors/billing.ts';
import { quotaSlaGovernor } from '../../machines/governors/quota-sla.ts';
import { subscriptionGovernor, type SubscriptionData, type SubscriptionState } from '../../machines/governors/subscription.ts';
import { protocol, type GovernorContext } from '../../machines/governors/governor-kit.ts';
import { TIERS } from '../../src/marketplace/tiers.ts';
import { T0, days } from './model-support.ts';
import { ev, given } from './domain-support.ts';

const subscribe = (fields: Record<string, unknown> = {}, at = 0) => ev('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional', ...fields }, at);

/** Prepares and commits `event`; returns the reply and the context after. */
function apply<S extends string, D>(definition: Parameters<typeof protocol.prepare<S, D>>[0], context: GovernorContext<S, D>, event: ReturnType<typeof ev>) {
  const prepared = protocol.prepare(definition, context, event);
  return { reply: prepared.reply, context: protocol.commit(definition, prepared.context, event.eventId) };
}

describe('the trial is the catalog’s', () => {
  it('a Professional SKU gets the tier’s trial, and Billing’s first cycle starts when Subscription’s does', () => {
    const event = subscribe();
    const sub = given(subscriptionGovernor, [event]);
    const bill = given(billingGovernor, [event]);
    expect(TIERS.professional.trialDays).toBe(14);
    expect(sub.state).toBe('Trial');
    expect(sub.data.plan?.cycleStart).toBe(T0 + days(TIERS.professional.trialDays));
    expect(bill.data.plan?.cycleStart).toBe(sub.data.plan?.cycleStart);
  });

  it('Community never has a trial, even when the event asks for one', () => {
    for (const trial of [undefined, true]) {
      const event = ev('CustomerSubscribes', { sku: 'COMMUNITY', tier: 'community', ...(trial === undefined ? {} : { trial }) });
      const sub = given(subscriptionGovernor, [event]);
      expect([sub.state, sub.data.trialUsed, sub.data.plan?.cycleStart]).toEqual(['Active', false, T0]);
      expect(given(billingGovernor, [event]).data.plan?.cycleStart).toBe(T0);
    }
  });

  it('a subscriber who declines the trial is Active at once, and can be renewed, invoiced, failed and paid', () => {
    const first = subscribe({ trial: false });
    let sub = given(subscriptionGovernor, [first]);
    let bill = given(billingGovernor, [first]);
    expect([sub.state, sub.data.plan?.cycleStart, sub.data.trialUsed]).toEqual(['Active', T0, true]);
    const renewal = ev('RenewalDue', { subscriptionId: first.eventId }, 23);
    const renewed = apply(subscriptionGovernor, sub, renewal);
    expect(renewed.reply.status).toBe('applied');
    sub = renewed.context;
    bill = apply(billingGovernor, bill, renewal).context;
    expect([bill.state, bill.data.balance]).toEqual(['InvoiceIssued', '99.00']);
    bill = apply(billingGovernor, bill, ev('PaymentFailed', { reason: 'card declined', paymentId: 'f1' }, 24)).context;
    expect(bill.state).toBe('PaymentFailed');
    bill = apply(billingGovernor, bill, ev('PaymentProcessed', { amount: '99.00', currency: 'USD', paymentId: 'p1' }, 25)).context;
    expect([bill.state, bill.data.balance, sub.data.renewals]).toEqual(['AwaitingInvoice', '0.00', 1]);
  });

  it('the trial is offered once, with the first paid subscription: taken or declined, a returning customer starts Active', () => {
    const back = given(subscriptionGovernor, [subscribe(), ev('CustomerCancels', {}, 1), 'timeout', 'timeout']);
    expect(back.state).toBe('Archived');
    const again = apply(subscriptionGovernor, back, subscribe({}, 500));
    expect(again.context.state).toBe('Active');
    // Declined, then reactivated within the window: still no trial, in Subscription and Billing alike.
    const declined = subscribe({ trial: false });
    const reactivation = subscribe({}, 5);
    const sub = given(subscriptionGovernor, [declined, ev('CustomerCancels', {}, 1), reactivation]);
    const bill = given(billingGovernor, [declined, ev('CustomerCancels', {}, 1), reactivation]);
    expect([sub.state, sub.data.subscriptionId, sub.data.plan?.cycleStart, bill.data.plan?.cycleStart]).toEqual(['Active', declined.eventId, T0 + days(5), T0 + days(5)]);
    // A Community customer has not had the offer: the first paid plan comes with it.
    const upgraded = given(subscriptionGovernor, [ev('CustomerSubscribes', { sku: 'COMMUNITY', tier: 'community' }), ev('CustomerCancels', {}, 1), subscribe({}, 2)]);
    expect(upgraded.state).toBe('Trial');
  });

  it('refuses a trial field that is not a boolean, in Subscription and Billing alike', () => {
    for (const definition of [subscriptionGovernor, billingGovernor] as const) {
      const prepared = protocol.prepare(definition as never, protocol.initial(definition as never, 'c1'), subscribe({ trial: 'no' }));
      expect(prepared.reply).toMatchObject({ status: 'rejected', reason: 'trial must be true or false, got "no"' });
    }
  });
});

describe('deadlines from business time, applied before deciding', () => {
  it('a renewal whose business time is after the trial end is decided against an Active plan while the timer has not fired', () => {
    const first = subscribe();
    const inTrial = given(subscriptionGovernor, [first]);
    expect(inTrial.state).toBe('Trial');
    // Trial ends on day 14; the cycle's renewal window opens on day 14 + 23.
    const renewal = ev('RenewalDue', { subscriptionId: first.eventId }, 37);
    const { reply, context } = apply(subscriptionGovernor, inTrial, renewal);
    expect(reply).toMatchObject({ status: 'applied', facts: { subscription: 'active' } });
    expect([context.state, context.data.renewals, context.enteredAt]).toEqual(['Active', 1, T0 + days(14)]);
    // Before the trial's end it is still a trial.
    expect(protocol.prepare(subscriptionGovernor, inTrial, ev('RenewalDue', { subscriptionId: first.eventId }, 13)).reply).toMatchObject({ status: 'rejected', reason: /in trial/ });
  });

  it('an event after dunning deadlines is decided in the dunning step they reach, counted from the failure’s occurredAt', () => {
    const first = subscribe({ trial: false });
    const failed = given(billingGovernor, [first, ev('RenewalDue', { subscriptionId: first.eventId }, 23), ev('PaymentFailed', { reason: 'declined', paymentId: 'f1' }, 24)]);
    expect([failed.state, failed.data.failedAt]).toEqual(['PaymentFailed', T0 + days(24)]);
    // Day 24 + 7: the grace is over, the service suspended: a renewal is refused there.
    const renewal = protocol.prepare(billingGovernor, failed, ev('RenewalDue', { subscriptionId: first.eventId }, 31.5));
    expect(renewal.reply).toMatchObject({ status: 'rejected', reason: /service suspended/, facts: { billing: 'Suspended', standing: 'delinquent' } });
    // A second failure on day 27 (after Retry1 on day 26, before Retry2 on day 27 + …) is counted in Retry2's step.
    const second = apply(billingGovernor, failed, ev('PaymentFailed', { reason: 'declined', paymentId: 'f2' }, 27.5));
    expect([second.context.state, second.context.data.failedPayments]).toEqual(['Retry2', ['f1', 'f2']]);
  });
});

describe('usage periods from the event’s month', () => {
  it('usage in March is ledgered under 2026-03 by Billing and QuotaSla alike, after a subscription in January', () => {
    const first = subscribe({ trial: false });
    const usage = ev('UsageRecorded', { metric: 'executions', quantity: 1200, idempotencyKey: 'u-march' }, 60); // 2026-03-06
    expect(new Date(T0 + days(60)).toISOString().slice(0, 7)).toBe('2026-03');
    const bill = given(billingGovernor, [first]);
    expect(bill.data.ledger.period).toBe('2026-01');
    const billed = apply(billingGovernor, bill, usage).context;
    const quota = apply(quotaSlaGovernor, given(quotaSlaGovernor, [first]), usage).context;
    expect([billed.data.ledger.period, quota.data.ledger.period]).toEqual(['2026-03', '2026-03']);
    expect([billed.data.ledger.totals.executions, quota.data.ledger.totals.executions]).toEqual(['1200', '1200']);
  });

  it('usage of a month closed before the invoice is billed on it, not lost with the month', () => {
    const first = subscribe({ trial: false });
    const context = given(billingGovernor, [
      first,
      ev('UsageRecorded', { metric: 'executions', quantity: 100_100, idempotencyKey: 'u-jan' }, 20),
      ev('UsageRecorded', { metric: 'executions', quantity: 100, idempotencyKey: 'u-feb' }, 27),
    ]);
    expect([context.data.ledger.period, context.data.unbilled?.executions]).toEqual(['2026-02', '100100']);
    const invoiced = apply(billingGovernor, context, ev('RenewalDue', { subscriptionId: first.eventId }, 28)).context;
    // 99 base + 200 executions over the 100,000 included at 0.01.
    expect(invoiced.data.balance).toBe('101.00');
    expect([invoiced.data.unbilled?.executions, invoiced.data.ledger.totals.executions]).toEqual(['0', '0']);
  });
});

const KINDS = marketplaceKinds({ pseudonymKey: 'business-time-test-key-0123456789' });
const NOW = Date.parse('2026-06-01T00:00:00Z');

function marketplace(store = new MemoryStore(), now = NOW): { node: Node; clock: SimulatedClock; store: MemoryStore } {
  const clock = new SimulatedClock(now);
  const node = createNode({ clock });
  new EntityHost(node, KINDS, { restore: (address) => store.get(address)?.state, commit: (address, persist) => store.set(address, persist()) });
  return { node, clock, store };
}

const lifecycle = (event: Record<string, unknown>) => ({ type: 'lifecycle', event: { customerId: 'c1', ...event } });
const orchestrator = { entity: 'Orchestrator', key: 'c1' };
const stateOf = (node: Node, entity: string) => sys.getState(node, node.entities!.processOf({ entity, key: 'c1' })!.pid) as { value: string; context: GovernorContext<SubscriptionState, SubscriptionData> };

describe('on a node: timers armed at business deadlines', () => {
  it('a backdated subscribe’s trial end, already past on the node’s clock, fires at once', async () => {
    const { node } = marketplace();
    const outcome = await node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerSubscribes', eventId: 's1', occurredAt: '2026-05-01T00:00:00Z', sku: 'PRO-MONTHLY', tier: 'professional' }), { timeout: 60_000 });
    await node.settle();
    expect(outcome).toMatchObject({ status: 'completed', subscriptionId: 's1' });
    const sub = stateOf(node, 'Subscription');
    expect([sub.value, sub.context.enteredAt]).toEqual(['Active', Date.parse('2026-05-15T00:00:00Z')]);
  });

  it('a trial ends at its business deadline, and a restart does not restart the countdown', async () => {
    const first = marketplace();
    await first.node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerSubscribes', eventId: 's1', occurredAt: '2026-05-31T23:30:00Z', sku: 'ENT-MONTHLY', tier: 'enterprise' }), { timeout: 60_000 });
    first.clock.advance(days(10));
    await first.node.settle();
    expect(stateOf(first.node, 'Subscription').value).toBe('Trial');
    await first.node.stop();
    // Another node, ten days on, from the committed state: four more days end the trial.
    const second = marketplace(first.store, NOW + days(10));
    const downgrade = await second.node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerUpgrades', eventId: 'd1', occurredAt: new Date(NOW + days(10)).toISOString(), fromSku: 'ENT-MONTHLY', toSku: 'PRO-MONTHLY' }), { timeout: 60_000 });
    expect(downgrade).toMatchObject({ status: 'completed' });
    second.clock.advance(days(4) - 3_600_000);
    await second.node.settle();
    expect(stateOf(second.node, 'Subscription').value).toBe('Trial');
    second.clock.advance(3_600_000);
    await second.node.settle();
    expect(stateOf(second.node, 'Subscription').value).toBe('Active');
  });

  it('the subscribe’s outcome carries subscriptionId; a reactivation within the window carries the old one', async () => {
    const { node, clock } = marketplace();
    const at = (d: number) => new Date(NOW + days(d)).toISOString();
    const first = await node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerSubscribes', eventId: 'sub-a', occurredAt: at(-2), sku: 'PRO-MONTHLY', tier: 'professional', trial: false }), { timeout: 60_000 });
    expect(first).toMatchObject({ status: 'completed', subscriptionId: 'sub-a' });
    expect(await node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerCancels', eventId: 'c-1', occurredAt: at(-1) }), { timeout: 60_000 })).toMatchObject({ status: 'completed' });
    // Within the window (30 days from the cancellation's occurredAt): the same subscription.
    const back = await node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerSubscribes', eventId: 'sub-b', occurredAt: at(0), sku: 'PRO-MONTHLY', tier: 'professional' }), { timeout: 60_000 });
    expect(back).toMatchObject({ status: 'completed', subscriptionId: 'sub-a' });
    // A duplicate answers with the original outcome, id included (the record carries it).
    const duplicate = await node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerSubscribes', eventId: 'sub-b', occurredAt: at(0), sku: 'PRO-MONTHLY', tier: 'professional' }), { timeout: 60_000 });
    expect(duplicate).toMatchObject({ status: 'duplicate', original: { status: 'completed', subscriptionId: 'sub-a' } });
    // Cancelled again, and back after the window: a new subscription under the new eventId.
    await node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerCancels', eventId: 'c-2', occurredAt: at(1) }), { timeout: 60_000 });
    clock.advance(days(32));
    await node.settle();
    expect(stateOf(node, 'Subscription').value).toBe('Lapsed');
    const fresh = await node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerSubscribes', eventId: 'sub-c', occurredAt: at(32), sku: 'PRO-MONTHLY', tier: 'professional' }), { timeout: 60_000 });
    expect(fresh).toMatchObject({ status: 'completed', subscriptionId: 'sub-c' });
  });
});

describe('states persisted before business-time deadlines', () => {
  type Persisted = { snapshot: { value: string; context: Record<string, unknown> }; timers: { name: string; deadline: number; event: { type: string } }[] };

  /** A Subscription in Trial and its relative timer, as the code before saved them; the same for Billing with a 1970-01 ledger. */
  async function legacyStore(): Promise<MemoryStore> {
    const { node, store } = marketplace(new MemoryStore(), NOW);
    await node.call(orchestrator, lifecycle({ type: 'CustomerSubscribes', eventId: 's1', occurredAt: new Date(NOW).toISOString(), sku: 'PRO-MONTHLY', tier: 'professional' }), { timeout: 60_000 });
    await node.call(orchestrator, lifecycle({ type: 'UsageRecorded', eventId: 'u1', occurredAt: new Date(NOW).toISOString(), metric: 'executions', quantity: 100_500, idempotencyKey: 'u1' }), { timeout: 60_000 });
    await node.stop();
    const rewrite = (entity: string, change: (p: Persisted) => void) => {
      const stored = structuredClone(store.get({ entity, key: 'c1' })!.state) as unknown as Persisted;
      change(stored);
      store.set({ entity, key: 'c1' }, stored as never);
    };
    // The old shape: no enteredAt, the Trial's timer a relative one under the state's own name
    // (armed at processing time, here a day after the subscribe's occurredAt), a bare event.
    rewrite('Subscription', (p) => {
      delete p.snapshot.context.enteredAt;
      p.timers = [{ name: 'state:Subscription.Trial', kind: 'state', deadline: NOW + days(15), event: { type: 'timeout' } } as never];
    });
    rewrite('Billing', (p) => {
      delete p.snapshot.context.enteredAt;
      const data = p.snapshot.context.data as BillingData & { unbilled?: unknown };
      delete data.unbilled;
      (data as { ledger: BillingData['ledger'] }).ledger = { ...data.ledger, period: '1970-01' };
    });
    return store;
  }

  it('a Trial restored with its old timer, changed in place, still ends by that timer', async () => {
    const store = await legacyStore();
    const restored = marketplace(store, NOW + days(1));
    const upgrade = await restored.node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerUpgrades', eventId: 'up1', occurredAt: new Date(NOW + days(1)).toISOString(), fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }), { timeout: 60_000 });
    expect(upgrade).toMatchObject({ status: 'completed' });
    expect(stateOf(restored.node, 'Subscription').value).toBe('Trial');
    restored.clock.advance(days(14));
    await restored.node.settle();
    expect(stateOf(restored.node, 'Subscription').value).toBe('Active');
  });

  it('a restored Trial left before its old timer fires ignores it: the cancellation’s window closes 30 days after the cancellation', async () => {
    const store = await legacyStore();
    const restored = marketplace(store, NOW + days(1));
    const cancel = await restored.node.call<Outcome>(orchestrator, lifecycle({ type: 'CustomerCancels', eventId: 'x1', occurredAt: new Date(NOW + days(1)).toISOString() }), { timeout: 60_000 });
    expect(cancel).toMatchObject({ status: 'completed' });
    restored.clock.advance(days(20)); // past the old Trial timer (day 15): it must not close the window early
    await restored.node.settle();
    expect(stateOf(restored.node, 'Subscription').value).toBe('Cancelled');
    restored.clock.advance(days(10));
    await restored.node.settle();
    expect(stateOf(restored.node, 'Subscription').value).toBe('Lapsed');
  });

  it('a Billing ledger persisted under 1970-01 moves to the event’s month, and its usage is invoiced', async () => {
    const store = await legacyStore();
    const restored = marketplace(store, NOW + days(40));
    const march = await restored.node.call<Outcome>(
      orchestrator,
      lifecycle({ type: 'UsageRecorded', eventId: 'u2', occurredAt: new Date(NOW + days(40)).toISOString(), metric: 'executions', quantity: 100, idempotencyKey: 'u2' }),
      { timeout: 60_000 },
    );
    expect(march).toMatchObject({ status: 'completed' });
    const billing = sys.getState(restored.node, restored.node.entities!.processOf({ entity: 'Billing', key: 'c1' })!.pid) as { value: BillingState; context: GovernorContext<BillingState, BillingData> };
    expect(billing.context.data.ledger.period).toBe('2026-07');
    expect(billing.context.data.unbilled?.executions).toBe('100500');
    const renewal = await restored.node.call<Outcome>(orchestrator, lifecycle({ type: 'RenewalDue', eventId: 'r1', occurredAt: new Date(NOW + days(40)).toISOString(), subscriptionId: 's1' }), { timeout: 60_000 });
    expect(renewal).toMatchObject({ status: 'completed' });
    const invoiced = sys.getState(restored.node, restored.node.entities!.processOf({ entity: 'Billing', key: 'c1' })!.pid) as { context: GovernorContext<BillingState, BillingData> };
    // 99 base + 600 executions over the 100,000 included at 0.01.
    expect(invoiced.context.data.balance).toBe('105.00');
  });
});
