/**
 * States saved by the code before keyed records (the orchestrator's `handled` list and each
 * governor's `committed` list in their contexts; fixture saved by main @ 135d60b) migrate on
 * first load: every record moves beside the state, none is lost, and every event of the fixture
 * sent again is answered with its original outcome, changing nothing.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createNode } from '../../src/index.ts';
import { MemoryStore } from '../../src/store/memory-store.ts';
import { startMarketplace } from '../../supervisors/marketplace.ts';
import type { HandledEvent } from '../../machines/handled-events.ts';
import type { CommittedOutcome } from '../../machines/governors/governor-kit.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';

const fixture = JSON.parse(readFileSync(new URL('../fixtures/handled-v1-states.json', import.meta.url), 'utf8')) as {
  customerId: string;
  events: LifecycleEvent[];
  states: Record<string, PersistedActorState>;
};
const contextOf = (state: PersistedActorState | undefined) => (state?.snapshot as { context: Record<string, unknown> } | undefined)?.context;

describe('migration of stored states with handled and committed lists (memory store)', () => {
  it('moves every record out of the states on first load, and answers every old event with its original outcome', async () => {
    const store = new MemoryStore();
    for (const [kind, state] of Object.entries(fixture.states)) store.put({ entity: kind, key: fixture.customerId }, state, 0);
    // The fixture's event times are of its day: the node's clock is left as it is (system time).
    const market = startMarketplace(createNode({ name: 'migration' }), { store, pseudonymKey: 'handled-v1-fixture-pseudonym-key' });
    const handled = contextOf(fixture.states['Orchestrator'])!.handled as HandledEvent[];
    const before = Object.fromEntries(['Billing', 'Entitlement', 'Subscription'].map((kind) => [kind, contextOf(store.get({ entity: kind, key: fixture.customerId })?.state)!.data]));
    try {
      for (const { eventId, digest: _digest, ...outcome } of handled) {
        const event = fixture.events.find((e) => e.eventId === eventId)!;
        expect(await market.submit(event), eventId).toEqual({ status: 'duplicate', eventId, original: outcome });
      }
      const orchestrator = { entity: 'Orchestrator', key: fixture.customerId };
      expect(contextOf(store.get(orchestrator)?.state)).not.toHaveProperty('handled');
      expect(store.recordCount(orchestrator)).toBe(handled.length);
      // Duplicates never reach the governors: they are migrated when next loaded.
      for (const kind of ['Billing', 'Entitlement', 'Subscription']) {
        expect(contextOf(store.get({ entity: kind, key: fixture.customerId })?.state)!.data, kind).toEqual(before[kind]);
      }
      // New events load the governors of their routes: their lists move to records, none lost.
      const types = new Map(fixture.events.map((e) => [e.type, e]));
      for (const [type, event] of types) await market.submit({ ...event, eventId: `after-${type}`, occurredAt: new Date().toISOString() } as LifecycleEvent);
      market.persist(fixture.customerId);
      const migrated: string[] = [];
      for (const kind of ['Entitlement', 'Billing', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'MultiTenant']) {
        const address = { entity: kind, key: fixture.customerId };
        const committed = contextOf(fixture.states[kind])!.committed as CommittedOutcome[];
        if (contextOf(store.get(address)?.state)!.committed !== undefined) continue; // not on this event's route: not loaded
        for (const { eventId, reply } of committed) expect(store.record(address, eventId), `${kind} ${eventId}`).toMatchObject({ governor: kind, status: reply.status });
        migrated.push(kind);
      }
      expect(migrated.length, 'the governors of the route were migrated').toBeGreaterThanOrEqual(4);
    } finally {
      await market.stop();
    }
  });
});
