/**
 * The embedded node's heap budget (README, Memory): over it, the entity host passivates the
 * entities at rest, and each comes back whole from the memory store — on its next message, on a
 * read, or when its earliest timer falls due. The heap is the test's (`heapUsed`), so what is
 * checked is the decision and its effects, not the machine's memory.
 */
import { describe, expect, it } from 'vitest';
import { SimulatedClock, createNode, sys } from '../../src/index.ts';
import { startMarketplace } from '../../supervisors/marketplace.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';

const DAY = 86_400_000;
const MiB = 1_048_576;
const START = Date.parse('2026-01-05T10:00:00Z');
const CUSTOMERS = ['c1', 'c2', 'c3'];
const KINDS = ['Orchestrator', 'Entitlement', 'Billing', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'Receipts'];

function market() {
  const clock = new SimulatedClock(START);
  const node = createNode({ clock });
  const heap = { used: 0 };
  const app = startMarketplace(node, { pseudonymKey: 'heap-budget-test-key-0123456789', heapBudgetMb: 64, heapUsed: () => heap.used });
  let serial = 0;
  const submit = (customerId: string, type: string, fields: Record<string, unknown> = {}) =>
    app.submit({ eventId: `evt-${++serial}`, customerId, occurredAt: new Date(clock.now()).toISOString(), type, ...fields } as LifecycleEvent);
  const resident = () => node.registered().filter((name) => name.startsWith('entity:'));
  const states = () => Object.fromEntries(CUSTOMERS.flatMap((c) => KINDS.map((k) => [`${k}/${c}`, app.stateOf(k, c)])));
  return { clock, node, app, heap, submit, resident, states };
}

async function subscribeAll(submit: ReturnType<typeof market>['submit']): Promise<void> {
  for (const customer of CUSTOMERS) {
    expect(await submit(customer, 'CustomerSubscribes', { sku: 'PRO-MONTHLY', tier: 'professional' })).toMatchObject({ status: 'completed' });
  }
}

describe('the embedded node over its heap budget', () => {
  it('passivates nothing while the heap is within the budget', async () => {
    const { app, heap, submit, resident } = market();
    await subscribeAll(submit);
    heap.used = 64 * MiB;
    expect(await app.host().checkHeap()).toBe(0);
    expect(resident()).toHaveLength(CUSTOMERS.length * KINDS.length);
    expect(app.host().passivations()).toEqual({ idle: 0, memory: 0 });
    await app.stop();
  });

  it('passivates the entities at rest, counted, and each comes back with its state intact', async () => {
    const { app, heap, submit, resident, states } = market();
    await subscribeAll(submit);
    const before = states();
    heap.used = 1_000 * MiB; // far over: every entity at rest goes

    const passivated = await app.host().checkHeap();

    expect(passivated).toBe(CUSTOMERS.length * KINDS.length);
    expect(resident()).toEqual([]);
    expect(app.host().passivations()).toEqual({ idle: 0, memory: passivated });
    expect(states()).toEqual(before); // read from the store
    // Their next event runs from the restored states: usage is counted on top of what was there.
    heap.used = 0;
    for (const customer of CUSTOMERS) {
      expect(await submit(customer, 'UsageRecorded', { metric: 'executions', quantity: 150_000, idempotencyKey: `run-${customer}` })).toMatchObject({ status: 'completed' });
      const billing = app.stateOf('Billing', customer)!.context as { data: { ledger: { totals: { executions: string } } } };
      expect(billing.data.ledger.totals.executions).toBe('150000');
      expect(app.stateOf('Subscription', customer)!.value).toBe('Trial');
    }
    expect(await app.verifyReceipts('c1')).toMatchObject({ ok: true, length: 2 });
    await app.stop();
  });

  it('wakes an entity passivated with a timer pending when the timer falls due', async () => {
    const { app, clock, heap, submit } = market();
    await subscribeAll(submit);
    const trial = { entity: 'Subscription', key: 'c1' };
    expect(app.host().processOf(trial)!.timers().length).toBeGreaterThan(0);
    heap.used = 1_000 * MiB;
    await app.host().checkHeap();
    heap.used = 0;
    expect(app.host().pidOf(trial)).toBeUndefined();

    clock.advance(14 * DAY); // the trial ends: nobody sends Subscription/c1 a message

    expect(app.host().pidOf(trial)).toBeDefined();
    expect(app.stateOf('Subscription', 'c1')!.value).toBe('Active');
    await app.stop();
  });

  it('keeps an entity whose memory is ahead of the store, and what was replaced in it', async () => {
    const { app, node, heap, submit, resident } = market();
    await subscribeAll(submit);
    const address = { entity: 'CustomerAccount', key: 'c2' };
    const pid = app.host().pidOf(address)!;
    sys.replaceState(node, pid, ({ context }) => ({ context: { ...(context as object), note: 'replaced, not committed' } }));
    heap.used = 1_000 * MiB;

    await app.host().checkHeap();

    expect(resident()).toEqual([`entity:CustomerAccount/c2`]);
    expect(app.stateOf('CustomerAccount', 'c2')!.context).toMatchObject({ note: 'replaced, not committed' });
    await app.stop();
  });
});
