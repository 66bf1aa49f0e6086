import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { orchestratorMachine, type OrchestratorContext, type OrchestratorEvent } from '../../machines/orchestrator.ts';
import { ROUTES, type GovernorKind, type GovernorReply } from '../../machines/governor-protocol.ts';
import { traverse } from '../support/machine-coverage.ts';
import { eventDigest } from '../../src/marketplace/event-digest.ts';

// PaymentProcessed goes to Billing, Entitlement and CustomerAccount: three governors, and the
// declared conflict between the first two, keep the state space small but complete.
const payment = { eventId: 'e1', customerId: 'c1', occurredAt: '2026-01-01T00:00:00Z', type: 'PaymentProcessed', amount: 10 };
const unrouted = { ...payment, eventId: 'e2', type: 'NothingToDo' };
/** e1's key reused for other content: refused, never recorded. */
const reused = { ...payment, amount: 11 };
const reply = (governor: GovernorKind, status: GovernorReply['status'], facts?: GovernorReply['facts']): GovernorReply => ({
  governor,
  status,
  version: 1,
  ...(facts ? { facts } : {}),
});

const e1Record = { status: 'completed', at: 1_500, digest: eventDigest(payment as never) };

/** An answer as the `prepare` call delivers it: tagged with its event and governor. */
const answer = (governor: GovernorKind, r: GovernorReply): OrchestratorEvent => ({ type: 'governor.reply', eventId: 'e1', governor, reply: r });

/** Events worth trying in a state: enough to take every transition, few enough to stay finite. */
function events(snapshot: AnyMachineSnapshot): OrchestratorEvent[] {
  const c = (snapshot.context as OrchestratorContext).current;
  const waiting = (c?.asked ?? []).filter((g) => !(c?.answers ?? []).some((a) => a.governor === g));
  const route = c?.route ?? [];
  return [
    { type: 'lifecycle', event: payment, receivedAt: 1_000 },
    { type: 'lifecycle', event: unrouted, receivedAt: 2_000 },
    { type: 'lifecycle', event: reused, receivedAt: 2_500 },
    // The runtime hands an event over with its handled record (`$record`); here, by hand: e1
    // handled before, then e1's key reused for other content.
    { type: 'lifecycle', event: payment, receivedAt: 2_600, $record: e1Record } as OrchestratorEvent,
    { type: 'lifecycle', event: reused, receivedAt: 2_700, $record: e1Record } as OrchestratorEvent,
    ...waiting.map((g) => answer(g, reply(g, 'applied'))),
    // A refusal, an unreachable governor and the facts of a declared conflict (Billing delinquent
    // while Entitlement activates) only where they matter, to keep the state space small.
    ...waiting.filter((g) => g === route[route.length - 1]).map((g) => answer(g, reply(g, 'rejected'))),
    ...waiting.filter((g) => g === route[0]).map((g): OrchestratorEvent => ({ type: 'governor.error', eventId: 'e1', governor: g, error: 'CallTimeoutError' })),
    ...waiting.filter((g) => g === 'Billing').map((g) => answer(g, reply(g, 'applied', { standing: 'delinquent' }))),
    ...waiting.filter((g) => g === 'Entitlement').map((g) => answer(g, reply(g, 'applied', { entitlement: 'active' }))),
    // An answer of an event that ended (no tag: sent before fan-out) is stale wherever it comes.
    { type: 'governor.reply', reply: reply('Billing', 'applied') },
    { type: 'governor.error', error: 'late' },
    { type: 'timeout' },
    { type: 'completed', at: 3_000 },
    { type: 'resumed', at: 4_000 },
  ];
}

function serialize(snapshot: AnyMachineSnapshot): string {
  const x = snapshot.context as OrchestratorContext;
  const c = x.current;
  return JSON.stringify([
    snapshot.value,
    c?.event.eventId,
    c?.asked,
    c?.answers?.map((a) => ('error' in a ? `${a.governor}!` : `${a.governor}:${a.reply.facts ? 'f' : a.reply.status}`)),
    c?.error != null,
    x.met,
  ]);
}

describe('orchestrator machine, traversed with xstate/graph', () => {
  const result = traverse(orchestratorMachine, {
    events: events as never,
    input: { key: 'c1' },
    serializeState: serialize,
    limit: 20_000,
    check: (snapshot) => {
      const x = snapshot.context as OrchestratorContext;
      const c = x.current;
      // Invariants on every visited state.
      if (snapshot.value === 'AwaitingFeedback') expect(c).not.toBeNull();
      // Idle holds an event only between its decision and the stamp that ends it: one with no governor.
      if (snapshot.value === 'Idle' && c) expect(c.route).toEqual([]);
      if (c) {
        const asked = c.asked ?? [];
        // Asked from the route, each once, and remembered as met (their actors exist).
        expect(new Set(asked).size).toBe(asked.length);
        for (const g of asked) expect(c.route).toContain(g);
        for (const g of asked) expect(x.met ?? []).toContain(g);
        // Answers only from governors asked, one each.
        for (const a of c.answers ?? []) expect(asked).toContain(a.governor);
        expect(new Set((c.answers ?? []).map((a) => a.governor)).size).toBe((c.answers ?? []).length);
        // The replies reported are a walk of the route in its order.
        expect(c.replies.map((r) => r.governor)).toEqual(c.route.slice(0, c.replies.length));
      }
      for (const count of Object.values(x.stats)) expect(count).toBeGreaterThanOrEqual(0);
      // Records of handled events are written beside the state (`putRecord`), never kept in it.
      expect(x).not.toHaveProperty('handled');
    },
  });

  it('reaches both states: Idle and AwaitingFeedback', () => {
    expect(result.unreachedStates).toEqual([]);
  });

  it('takes every transition the machine declares', () => {
    expect(result.unreachedTransitions).toEqual([]);
  });

  it('walks a route of three governors both one by one (a new customer) and all at once (governors met)', () => {
    expect(ROUTES.PaymentProcessed).toEqual(['Billing', 'Entitlement', 'CustomerAccount']);
    expect(result.paths).toBeGreaterThan(20);
  });
});
