import { describe, expect, it } from 'vitest';
import type { AnyMachineSnapshot } from 'xstate';
import { orchestratorMachine, type OrchestratorContext, type OrchestratorEvent } from '../../machines/orchestrator.ts';
import type { GovernorReply } from '../../machines/governor-protocol.ts';
import { traverse } from '../support/machine-coverage.ts';
import { eventDigest } from '../../src/marketplace/event-digest.ts';

const subscribe = { eventId: 'e1', customerId: 'c1', occurredAt: '2026-01-01T00:00:00Z', type: 'CustomerSubscribes', sku: 'pro', tier: 'Professional' };
const unrouted = { ...subscribe, eventId: 'e2', type: 'NothingToDo' };
/** e1's key reused for other content: refused, never recorded. */
const reused = { ...subscribe, tier: 'Enterprise' };
const reply = (governor: GovernorReply['governor'], status: GovernorReply['status'], facts?: GovernorReply['facts']): GovernorReply => ({
  governor,
  status,
  version: 1,
  ...(facts ? { facts } : {}),
});

const e1Record = { status: 'completed', at: 1_500, digest: eventDigest(subscribe as never) };

const replyEvent = (r: GovernorReply): OrchestratorEvent => ({ type: 'governor.reply', reply: r });

/** Events worth trying in a state: enough to take every transition, few enough to stay finite. */
function events(snapshot: AnyMachineSnapshot): OrchestratorEvent[] {
  const context = snapshot.context as OrchestratorContext;
  const routed = context.current?.route ?? [];
  const governor = routed[context.current?.index ?? 0] ?? 'Entitlement';
  return [
    { type: 'lifecycle', event: subscribe, receivedAt: 1_000 },
    { type: 'lifecycle', event: unrouted, receivedAt: 2_000 },
    { type: 'lifecycle', event: reused, receivedAt: 2_500 },
    // The runtime hands an event over with its handled record (`$record`); here, by hand: e1
    // handled before, then e1's key reused for other content.
    { type: 'lifecycle', event: subscribe, receivedAt: 2_600, $record: e1Record } as OrchestratorEvent,
    { type: 'lifecycle', event: reused, receivedAt: 2_700, $record: e1Record } as OrchestratorEvent,
    { type: 'initialized' },
    { type: 'planned' },
    { type: 'dispatched' },
    { type: 'governor.reply', reply: reply(governor, 'applied') },
    // A refusal and the facts of a declared conflict (Billing delinquent while Entitlement
    // activates) are offered only where they matter, to keep the state space small.
    ...(context.current?.index === 0 ? [replyEvent(reply(governor, 'rejected'))] : []),
    ...(governor === 'Billing' ? [replyEvent(reply(governor, 'applied', { standing: 'delinquent' }))] : []),
    ...(governor === 'Entitlement' ? [replyEvent(reply(governor, 'applied', { entitlement: 'active' }))] : []),
    { type: 'governor.error', error: 'CallTimeoutError' },
    { type: 'timeout' },
    { type: 'completed', at: 3_000 },
    { type: 'recover' },
    { type: 'compensated' },
    { type: 'resumed', at: 4_000 },
  ];
}

function serialize(snapshot: AnyMachineSnapshot): string {
  const c = snapshot.context as OrchestratorContext;
  return JSON.stringify([snapshot.value, c.current?.event.eventId, c.current?.index, c.current?.replies.map((r) => (r.facts ? 'f' : r.status)), c.current?.error != null]);
}

describe('orchestrator machine, traversed with xstate/graph', () => {
  const result = traverse(orchestratorMachine, {
    events: events as never,
    input: { key: 'c1' },
    serializeState: serialize,
    check: (snapshot) => {
      const c = snapshot.context as OrchestratorContext;
      // Invariants on every visited state.
      if (snapshot.value === 'Idle' || snapshot.value === 'Initializing') expect(c.current).toBeNull();
      else expect(c.current).not.toBeNull();
      if (c.current) {
        expect(c.current.index).toBeLessThanOrEqual(Math.max(0, c.current.route.length - 1));
        expect(c.current.replies.length).toBeLessThanOrEqual(c.current.route.length);
      }
      for (const count of Object.values(c.stats)) expect(count).toBeGreaterThanOrEqual(0);
      // Records of handled events are written beside the state (`putRecord`), never kept in it.
      expect(c).not.toHaveProperty('handled');
    },
  });

  it('reaches every one of the nine states and the error path', () => {
    expect(result.unreachedStates).toEqual([]);
  });

  it('takes every transition the machine declares', () => {
    expect(result.unreachedTransitions).toEqual([]);
  });
});
