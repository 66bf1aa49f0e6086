import { expect } from 'vitest';
import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { asOf, businessDeadline, timeoutEventFor, type GovernorContext, type GovernorDefinition } from '../../machines/governors/governor-kit.ts';
import type { LifecycleEvent } from '../../machines/governor-protocol.ts';
import { traverse } from '../support/machine-coverage.ts';

/** A fixed instant the sample events happen at (decisions read `occurredAt`, never a clock). */
export const T0 = Date.parse('2026-01-05T10:00:00Z');
export const CUSTOMER = 'c1';
const DAY = 86_400_000;

/** A lifecycle event of `type` for {@link CUSTOMER}, at `at`. */
export function lifecycle(type: string, fields: Record<string, unknown> = {}, at = T0, eventId = `${type}-1`): LifecycleEvent {
  return { eventId, customerId: CUSTOMER, occurredAt: new Date(at).toISOString(), type, ...fields };
}

export const days = (n: number) => n * DAY;

/** A sample event to offer in a state: its type, fields and time (the event id is made per step). */
export interface Sample {
  readonly type: string;
  readonly fields?: Record<string, unknown>;
  readonly at?: number;
}

/**
 * Traverses a governor machine with `xstate/graph`: in every state it offers `prepare` of each
 * sample (ids unique per version, so an event can happen again later), a redelivery of the last
 * committed event, `commit` and `abort` of the pending change and of an unknown id, the state
 * timeout (the kit's own timer, and a stale bare one) and every query. Protocol invariants are asserted on every visited state, then the
 * governor's own.
 */
export function traverseGovernor<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  machine: AnyStateMachine,
  options: {
    samples: (context: GovernorContext<S, D>) => Sample[];
    /** The part of the data that matters for which transitions are possible (keeps the graph finite). */
    abstract: (context: GovernorContext<S, D>) => unknown;
    invariant?: (context: GovernorContext<S, D>) => void;
    limit?: number;
  },
) {
  const events = (snapshot: AnyMachineSnapshot): EventObject[] => {
    const context = snapshot.context as GovernorContext<S, D>;
    const samples = options.samples(context);
    const prepares = samples.map((sample, i) => ({
      type: 'prepare',
      event: lifecycle(sample.type, sample.fields, sample.at ?? T0, `${sample.type}-${i}-v${context.version}`),
    }));
    // Each sample again at every business deadline ahead (the chain of them): decided as of a
    // time the state's timers have not fired for yet, so the states they lead to are entered by
    // commits too.
    let ahead: GovernorContext<S, D> = context;
    for (let step = 0, deadline = businessDeadline(definition, ahead); deadline !== null && step < definition.states.length; step++) {
      const at = deadline;
      prepares.push(...samples.map((sample, i) => ({ type: 'prepare', event: lifecycle(sample.type, sample.fields, Math.max(at, sample.at ?? T0), `${sample.type}-${i}-d${step}-v${context.version}`) })));
      ahead = asOf(definition, ahead, at);
      deadline = businessDeadline(definition, ahead);
    }
    // (Redeliveries of committed events come with their record, which only the runtime hands
    // over: the protocol's tests and the runtime tests cover them.)
    return [
      ...prepares,
      ...(context.pending ? [{ type: 'commit', eventId: context.pending.eventId }, { type: 'abort', eventId: context.pending.eventId }] : []),
      { type: 'commit', eventId: 'unknown' },
      { type: 'abort', eventId: 'unknown' },
      // The timer the kit arms for the state, and a bare one (a stale timer of a state left since).
      timeoutEventFor(definition, context),
      { type: 'timeout' },
      { type: 'inspect' },
      ...Object.keys(definition.queries ?? {}).map((type) => ({ type })),
    ] as EventObject[];
  };
  const serialize = (snapshot: AnyMachineSnapshot) => {
    const c = snapshot.context as GovernorContext<S, D>;
    const pending = c.pending ? [c.pending.next?.state ?? null, c.pending.basedOn === c.version] : null;
    return JSON.stringify([snapshot.value, pending, options.abstract(c)]);
  };
  return traverse(machine, {
    events,
    input: { key: CUSTOMER },
    serializeState: serialize,
    limit: options.limit ?? 20_000,
    check: (snapshot) => {
      const c = snapshot.context as GovernorContext<S, D>;
      // The protocol's invariants, on every visited state.
      expect(c.state).toBe(snapshot.value);
      expect(c.customerId).toBe(CUSTOMER);
      expect(c.version).toBeGreaterThanOrEqual(0);
      if (c.pending) expect(c.pending.basedOn).toBeLessThanOrEqual(c.version);
      // Committed events are records beside the state, never a list in it.
      expect(c).not.toHaveProperty('committed');
      options.invariant?.(c);
    },
  });
}
