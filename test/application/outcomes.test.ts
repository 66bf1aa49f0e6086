import { describe, expect, it } from 'vitest';
import { SimulatedClock, createNode, sys, type Pid, type TraceEntry } from '../../src/index.ts';
import { startMarketplace } from '../../supervisors/marketplace.ts';
import { GOVERNORS, type LifecycleEvent } from '../../machines/governor-protocol.ts';
import type { OrchestratorContext, Outcome } from '../../machines/orchestrator.ts';
import { lifecycleRounds } from '../../bench/lifecycle-events.ts';

const MINUTE = 60_000;
const START = Date.parse('2026-01-05T10:00:00Z');
const CUSTOMER = 'cust-1';
/** More later events than the governors' memory of committed events held before records (256). */
const LATER = 300;

function market(options: Parameters<typeof startMarketplace>[1] = {}) {
  const clock = new SimulatedClock(START);
  const node = createNode({ clock });
  const app = startMarketplace(node, { pseudonymKey: 'outcomes-test-key-0123456789', ...options });
  let serial = 0;
  const event = (type: string, fields: Record<string, unknown> = {}, eventId = `evt-${++serial}`): LifecycleEvent => ({
    eventId,
    customerId: CUSTOMER,
    occurredAt: new Date(clock.now()).toISOString(),
    type,
    ...fields,
  });
  /** Every actor of the customer, as persisted: what "changes nothing" is checked against. */
  const everything = () => Object.fromEntries([...GOVERNORS, 'Receipts'].map((kind) => [kind, app.stateOf(kind, CUSTOMER)]));
  const orchestrator = () => app.stateOf('Orchestrator', CUSTOMER)!.context as OrchestratorContext;
  return { clock, node, app, event, everything, orchestrator };
}

const status = (outcome: Outcome) => (outcome.status === 'rejected' ? `rejected: ${outcome.reason}` : outcome.status);

describe('handled-event records: duplicates and redeliveries', () => {
  it('a repeated eventId within the window is a duplicate with the original outcome and changes nothing', async () => {
    const { app, event, everything, clock, orchestrator } = market();
    const subscribe = event('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' });
    expect(status(await app.submit(subscribe))).toBe('completed');
    const before = everything();
    clock.advance(MINUTE);
    expect(await app.submit(subscribe)).toEqual({ status: 'duplicate', eventId: subscribe.eventId, original: { status: 'completed', at: START, subscriptionId: subscribe.eventId } });
    expect(everything()).toEqual(before);
    expect(orchestrator().stats).toMatchObject({ processed: 1, duplicates: 1 });
  });

  it('long after, and after many later events, a redelivery applies nothing twice and gets its original outcome', async () => {
    const { app, event, everything, clock } = market();
    expect(status(await app.submit(event('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' })))).toBe('completed');
    const usage = event('UsageRecorded', { metric: 'executions', quantity: 500, idempotencyKey: 'u-first' });
    expect(status(await app.submit(usage))).toBe('completed');
    const usageAt = clock.now();
    const refused = event('CustomerUpgrades', { fromSku: 'GOLD', toSku: 'PRO-MONTHLY' });
    const rejection = await app.submit(refused);
    expect(rejection.status).toBe('rejected');
    const reason = (rejection as { reason: string }).reason;

    clock.advance(10 * MINUTE); // past what was the duplicate window
    app.persist();
    for (let i = 0; i < LATER; i++) {
      const later = await app.submit(event('UsageRecorded', { metric: 'compute_gb_hours', quantity: 1, idempotencyKey: `u-${i}` }));
      expect(later.status).toBe('completed');
    }
    clock.advance(30 * 86_400_000); // past what was the 7-day retention
    app.persist();

    const before = everything();
    expect(await app.submit(usage)).toEqual({ status: 'duplicate', eventId: usage.eventId, original: { status: 'completed', at: usageAt } });
    expect(await app.submit(refused)).toEqual({ status: 'duplicate', eventId: refused.eventId, original: { status: 'rejected', reason, at: usageAt } });
    expect(everything()).toEqual(before);
    const totals = (app.stateOf('Billing', CUSTOMER)!.context as { data: { ledger: { totals: Record<string, string> } } }).data.ledger.totals;
    expect(totals['executions']).toBe('500');
  });

  it("keeps every record beside the state, never in it: the states do not grow with the customer's history", async () => {
    // The lifecycle benchmark's script (every type, cancellations and resubscriptions, duplicates).
    // Its event times are the benchmark's (near the system clock's now).
    const app = startMarketplace(createNode({ name: 'growth' }), { pseudonymKey: 'outcomes-test-key-0123456789' });
    const events = lifecycleRounds('grow', 1, 0, LATER);
    const customer = events[0]!.customerId;
    const kinds = ['Orchestrator', ...GOVERNORS];
    const sizes = () => {
      app.persist(customer);
      // The orchestrator's `last` is one outcome whose reason's length varies with the event (a
      // rejection names why): bounded, not a list, so it is left out of the comparison.
      const withoutLast = (_key: string, value: unknown) => (_key === 'last' ? undefined : value);
      return kinds.map((kind) => JSON.stringify(app.store.get({ entity: kind, key: customer })?.state ?? null, withoutLast).length);
    };
    let young: number[] = [];
    for (const [i, e] of events.entries()) {
      await app.submit(e);
      if (i === 19) young = sizes();
    }
    const old = sizes();
    // Counters may gain a digit; no list of events is kept.
    kinds.forEach((kind, i) => expect(old[i], kind).toBeLessThan(young[i]! + 64));
    const orchestrator = { entity: 'Orchestrator', key: customer };
    const handled = new Set(events.map((e) => e.eventId));
    expect(app.store.recordCount(orchestrator)).toBe(handled.size);
    for (const eventId of handled) expect(app.store.record(orchestrator, eventId), eventId).toMatchObject({ status: expect.stringMatching(/^(completed|rejected)$/), content: expect.any(String) });
    await app.stop();
  });

  it('a governor crashing mid-event leaves nothing applied, and the rejection is what a redelivery gets', async () => {
    const { app, event, everything, node, clock } = market();
    expect(status(await app.submit(event('CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' })))).toBe('completed');
    const before = everything();
    const subscription = node.whereis(`entity:Subscription/${CUSTOMER}`) as Pid;
    const stopTracing = sys.trace(node, subscription, (entry: TraceEntry) => {
      if (entry.kind === 'in' && (entry.event as { type?: string }).type === 'prepare') throw new Error('boom while preparing');
    });
    void stopTracing;
    const upgrade = event('CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' });
    const pending = app.submit(upgrade);
    await node.settle();
    clock.advance(5_000);
    const outcome = await pending;
    expect(outcome).toMatchObject({ status: 'rejected', reason: expect.stringMatching(/Subscription unreachable/) });
    // All or nothing: the governors that had prepared (Entitlement, Billing) show nothing of it.
    const after = everything();
    for (const kind of ['Entitlement', 'Billing', 'QuotaSla']) {
      const { context } = after[kind] as { context: { data: unknown; version: number; pending: unknown } };
      const { context: was } = before[kind] as { context: { data: unknown; version: number } };
      expect(context.data).toEqual(was.data);
      expect(context.version).toBe(was.version);
      expect(context.pending).toBeNull();
    }
    expect(await app.verifyReceipts(CUSTOMER)).toMatchObject({ ok: true, length: 1 });
    const again = await app.submit(upgrade);
    expect(again).toMatchObject({ status: 'duplicate', original: { status: 'rejected', reason: (outcome as { reason: string }).reason } });
  });
});
