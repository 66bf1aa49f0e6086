/**
 * What a lifecycle event costs the actors, counted rather than timed (issue 16): the XState
 * transitions every actor of a node process takes, and the messages delivered to actors. Counts
 * do not move with the machine's load, so a before → after comparison holds on a busy machine.
 *
 * A probe of the benchmark's node process only: it wraps each kind's `machine.transition` (the
 * runtime calls it once per step, a `next_event` included) and the node's `deliver` (every
 * envelope reaching this node: a cast, an info, a call; a call's reply is not counted, as it
 * reaches its caller again as an info event).
 */
import type { AnyStateMachine } from 'xstate';
import type { Envelope } from '../src/runtime/envelope.ts';

export interface StepCounts {
  transitions: number;
  messages: number;
}

/** Starts counting the transitions of `machines` and the messages `node` delivers; the counts grow in place. */
export function countSteps(node: { deliver(envelope: Envelope): void }, machines: readonly AnyStateMachine[]): StepCounts {
  const counts: StepCounts = { transitions: 0, messages: 0 };
  for (const machine of new Set(machines)) {
    const transition = machine.transition.bind(machine);
    machine.transition = ((...args: Parameters<typeof transition>) => {
      counts.transitions++;
      return transition(...args);
    }) as typeof machine.transition;
  }
  const deliver = node.deliver.bind(node);
  node.deliver = (envelope: Envelope) => {
    if (envelope.t !== 'reply') counts.messages++;
    deliver(envelope);
  };
  return counts;
}

/** The line a node process reports its counts with, and its reading in the parent. */
export const stepsLine = (counts: StepCounts): string => `steps ${counts.transitions} ${counts.messages}`;

/** Per event between two readings summed over the nodes; `undefined` when a node never reported. */
export function stepsPerEvent(before: readonly StepCounts[], after: readonly StepCounts[], events: number) {
  const sum = (all: readonly StepCounts[], field: keyof StepCounts) => all.reduce((total, c) => total + c[field], 0);
  return {
    transitions_per_event: Math.round(((sum(after, 'transitions') - sum(before, 'transitions')) / events) * 100) / 100,
    messages_per_event: Math.round(((sum(after, 'messages') - sum(before, 'messages')) / events) * 100) / 100,
  };
}
