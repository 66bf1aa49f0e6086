/**
 * Every marketplace machine declares what it postpones, and nothing else is parked: an event of
 * a type no state takes crashes the entity (`UNHANDLED_EVENT`, naming the state and the type),
 * which on BullMQ dead-letters the message (`test/hostile/unhandled-dead-letter.redis.test.ts`).
 */
import { describe, expect, it } from 'vitest';
import { EntityHost, MemoryStore, SimulatedClock, createNode, sys, type Node, type TraceEntry } from '../../src/index.ts';
import { marketplaceKinds } from '../../machines/index.ts';
import type { Outcome } from '../../machines/orchestrator.ts';

const KINDS = marketplaceKinds({ pseudonymKey: 'unhandled-events-test-key-0123456789' });

function marketplace(store = new MemoryStore()): { node: Node; clock: SimulatedClock; store: MemoryStore } {
  const clock = new SimulatedClock(Date.parse('2026-03-01T00:00:00Z'));
  const node = createNode({ clock });
  new EntityHost(node, KINDS, {
    restore: (address) => store.get(address)?.state,
    records: (address, key) => store.record(address, key),
    commit: (address, persist) => store.set(address, persist()),
  });
  return { node, clock, store };
}

describe('each marketplace machine, sent an event type it does not know', () => {
  for (const kind of KINDS.map((k) => k.kind)) {
    it(`${kind} crashes with UNHANDLED_EVENT naming its state and the type, and keeps nothing`, async () => {
      const { node } = marketplace();
      const address = { entity: kind, key: 'c1' };
      const exits: unknown[] = [];
      node.onExit((_pid, reason, process) => {
        if (process.name === `entity:${kind}/c1`) exits.push(reason);
      });
      node.cast(address, { type: 'Bogus' });
      await node.settle();
      expect(exits).toEqual([expect.objectContaining({ code: 'UNHANDLED_EVENT', eventType: 'Bogus', state: expect.anything() })]);
      // Restarted by its kind's supervisor from its last committed state, with nothing parked.
      const restarted = node.entities!.processOf(address);
      if (restarted) expect(sys.getStatus(node, restarted.pid).postponed).toBe(0);
    });
  }
});

describe('the orchestrator', () => {
  const subscribe = (eventId: string) => ({
    type: 'lifecycle',
    event: { type: 'CustomerSubscribes', eventId, customerId: 'c1', occurredAt: '2026-03-01T00:00:00Z', sku: 'PRO-MONTHLY', tier: 'professional' },
  });

  it('postpones lifecycle events that arrive mid-event (declared), and handles them in order afterwards', async () => {
    const { node, store } = marketplace();
    const address = { entity: 'Orchestrator', key: 'c1' };
    await node.call<Outcome>(address, subscribe('e0'), { timeout: 60_000 });
    const pid = node.entities!.processOf(address)!.pid;
    const trace: TraceEntry[] = [];
    sys.trace(node, pid, (entry) => trace.push(entry));
    // Suspended, the three queue up in its mailbox; resumed, e1 starts and its governors' replies
    // come behind e2 and e3 in the mailbox, so those two arrive mid-event.
    sys.suspend(node, pid);
    const calls = ['e1', 'e2', 'e3'].map((id) => node.call<Outcome>(address, subscribe(id), { timeout: 60_000 }));
    sys.resume(node, pid);
    const outcomes = await Promise.all(calls);
    expect(outcomes.map((o) => o.eventId)).toEqual(['e1', 'e2', 'e3']);
    // e2 and e3 came while e1 was in progress: kept (declared), not crashed on, not lost.
    expect(trace.filter((t) => t.kind === 'postpone').map((t) => (t.event as { event: { eventId: string } }).event.eventId)).toEqual(expect.arrayContaining(['e2', 'e3']));
    // Each recorded once, beside the state, with its own outcome (none taken for a duplicate).
    expect(Object.keys(store.allRecords(address))).toEqual(['e0', 'e1', 'e2', 'e3']);
    for (const outcome of outcomes) expect(outcome.status).not.toBe('duplicate');
    expect(sys.getStatus(node, pid).postponed).toBe(0);
  });

  it('takes a governor reply that comes after its event ended and counts it as stale, without crashing', async () => {
    const { node } = marketplace();
    const address = { entity: 'Orchestrator', key: 'c1' };
    await node.call(address, subscribe('e1'), { timeout: 60_000 });
    const pid = node.entities!.processOf(address)!.pid;
    node.cast(pid, { type: 'governor.reply', reply: { governor: 'Billing', status: 'applied', version: 1 } });
    node.cast(pid, { type: 'governor.error', error: 'late' });
    expect(node.isAlive(pid)).toBe(true);
    expect((sys.getState(node, pid) as { value: unknown; context: { staleReplies?: number } })).toMatchObject({ value: 'Idle', context: { staleReplies: 2 } });
  });

  it('restored with a bare event parked under the old implicit postpone, drops it once and takes the next event', async () => {
    const address = { entity: 'Orchestrator', key: 'c1' };
    const before = marketplace();
    await before.node.call(address, subscribe('e1'), { timeout: 60_000 });
    const stored = before.store.get(address)!.state;
    // What the README's old job format left in production: the event sent bare, parked forever.
    const bare = { type: 'CustomerSubscribes', eventId: 'bare-1', customerId: 'c1', sku: 'PRO-MONTHLY', tier: 'professional' };
    before.store.set(address, { ...stored, postponed: [bare] });
    await before.node.stop();

    const after = marketplace(before.store);
    const outcome = await after.node.call<Outcome>(address, subscribe('e2'), { timeout: 60_000 });
    expect(outcome).toMatchObject({ eventId: 'e2' });
    expect(['completed', 'rejected']).toContain(outcome.status);
    const pid = after.node.entities!.processOf(address)!.pid;
    expect(sys.statistics(after.node, pid).unhandled).toBe(1);
    expect(sys.getStatus(after.node, pid).postponed).toBe(0);
  });
});
