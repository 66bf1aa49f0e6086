import { expect } from 'vitest';
import { createActor, type AnyMachineSnapshot, type EventObject } from 'xstate';
import type { DomainContext, DomainMachine } from '../../machines/governors/domain-machine.ts';
import { NO_RECORDS, type RecordLookup } from '../../machines/governors/governor-kit.ts';
import { traverse } from '../support/machine-coverage.ts';
import { CUSTOMER, lifecycle, T0, type Sample } from './model-support.ts';

/** What a traversal of a domain machine reached, and how much there is to reach. */
export interface DomainCoverage {
  readonly states: number;
  readonly transitions: number;
  readonly unreachedStates: string[];
  readonly unreachedTransitions: string[];
}

/**
 * Traverses a governor's domain machine itself with `xstate/graph` (not the protocol around it):
 * in every state it offers each sample as a lifecycle event and the state's timer, and checks
 * the governor's invariants on every state visited. The outcome of the last event is left out of
 * a state's identity (it says what came of the event, not where the governor is), so the graph
 * is the domain's.
 */
export function traverseDomain<D>(
  machine: DomainMachine<D>,
  options: {
    samples: (data: D) => Sample[];
    /** The part of the data that matters for which transitions are possible (keeps the graph finite). */
    abstract: (data: D) => unknown;
    invariant: (state: string, data: D) => void;
    /**
     * The committed records the machine's decisions read (usage keys, payments), the same in
     * every state: what the runtime would hand over with each event. @default none
     */
    records?: RecordLookup;
    /** How many steps the traversal may take. @default 5,000 */
    limit?: number;
  },
): DomainCoverage {
  const context = (snapshot: AnyMachineSnapshot) => snapshot.context as DomainContext<D>;
  const events = (snapshot: AnyMachineSnapshot): EventObject[] => [
    ...options.samples(context(snapshot).data).map((sample, i) => lifecycle(sample.type, sample.fields, sample.at ?? T0, `${sample.type}-${i}`)),
    { type: 'timeout' },
  ];
  // The initial state as the protocol resolves it: the customer's, with the records handed over.
  const initial = createActor(machine).getSnapshot();
  const fromState = machine.resolveState({ value: initial.value, context: { ...initial.context, customerId: CUSTOMER, records: options.records ?? NO_RECORDS } });
  const result = traverse(machine, {
    events,
    fromState,
    ...(options.limit !== undefined ? { limit: options.limit } : {}),
    serializeState: (snapshot) => JSON.stringify([snapshot.value, options.abstract(context(snapshot).data)]),
    check: (snapshot) => {
      const { outcome, data } = context(snapshot);
      // A refusal says why: the reply carries it to whoever sent the event.
      if (outcome && outcome.status !== 'applied') expect(outcome.reason).toEqual(expect.any(String));
      options.invariant(String(snapshot.value), data);
    },
  });
  let transitions = 0;
  for (const node of Object.values(machine.root.states)) for (const definitions of node.transitions.values()) transitions += definitions.length;
  return { states: Object.keys(machine.root.states).length, transitions, unreachedStates: result.unreachedStates, unreachedTransitions: result.unreachedTransitions };
}

/** A refusal never moves: every transition whose only action is `reject` or `notApplicable` has no target. */
export function refusalsStay<D>(machine: DomainMachine<D>): string[] {
  const moving: string[] = [];
  for (const node of [machine.root, ...Object.values(machine.root.states)]) {
    for (const [type, definitions] of node.transitions) {
      definitions.forEach((t, i) => {
        const refusal = t.actions.length > 0 && t.actions.every((a) => typeof a === 'object' && a !== null && 'type' in a && (a.type === 'reject' || a.type === 'notApplicable'));
        if (refusal && t.target?.length) moving.push(`${node.id} --${type}[${i}]-->`);
      });
    }
  }
  return moving;
}
