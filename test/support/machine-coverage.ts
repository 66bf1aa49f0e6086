import type { AnyMachineSnapshot, AnyStateMachine, EventObject } from 'xstate';
import { getAdjacencyMap, getShortestPaths } from 'xstate/graph';

interface StateNodeLike {
  readonly id: string;
  readonly states: Record<string, StateNodeLike>;
  readonly transitions: Map<string, readonly unknown[]>;
}

function allStateNodes(machine: AnyStateMachine): StateNodeLike[] {
  const out: StateNodeLike[] = [];
  const visit = (node: StateNodeLike) => {
    out.push(node);
    for (const child of Object.values(node.states)) visit(child);
  };
  visit(machine.root as unknown as StateNodeLike);
  return out;
}

/**
 * Traverses a machine with `xstate/graph` (shortest paths to every reachable state) and reports
 * which state nodes and which transition definitions no path reached: a model-based test fails
 * on either. `check` runs on every visited snapshot (the machine's invariants).
 */
export function traverse(
  machine: AnyStateMachine,
  options: {
    events: (snapshot: AnyMachineSnapshot) => EventObject[];
    input?: unknown;
    serializeState?: (snapshot: AnyMachineSnapshot) => string;
    check?: (snapshot: AnyMachineSnapshot, event: EventObject | undefined) => void;
    limit?: number;
    /** Where the traversal starts. @default the machine's initial snapshot */
    fromState?: AnyMachineSnapshot;
  },
): { paths: number; unreachedStates: string[]; unreachedTransitions: string[] } {
  const paths = getShortestPaths(machine, {
    events: options.events as never,
    input: options.input,
    serializeState: options.serializeState as never,
    limit: options.limit ?? 5_000,
    fromState: options.fromState,
  } as never);
  const reachedNodes = new Set<string>();
  const reachedTransitions = new Set<unknown>();
  // Shortest paths prove every state is reachable from the start; the adjacency map holds every
  // edge the traversal explored, so each transition definition is checked, not just one per state.
  for (const path of paths) {
    for (const step of path.steps) {
      const snapshot = step.state as AnyMachineSnapshot;
      for (const node of snapshot._nodes) reachedNodes.add(node.id);
    }
  }
  const adjacency = getAdjacencyMap(machine, {
    events: options.events as never,
    input: options.input,
    serializeState: options.serializeState as never,
    limit: options.limit ?? 5_000,
    fromState: options.fromState,
  } as never) as Record<string, { state: AnyMachineSnapshot; transitions: Record<string, { event: EventObject; state: AnyMachineSnapshot }> }>;
  for (const { state, transitions } of Object.values(adjacency)) {
    options.check?.(state, undefined);
    for (const { event, state: next } of Object.values(transitions)) {
      for (const t of machine.getTransitionData(state, event)) reachedTransitions.add(t);
      options.check?.(next, event);
    }
  }
  const nodes = allStateNodes(machine);
  const unreachedStates = nodes.filter((n) => !reachedNodes.has(n.id)).map((n) => n.id);
  const unreachedTransitions: string[] = [];
  for (const node of nodes) {
    for (const [eventType, definitions] of node.transitions) {
      definitions.forEach((definition, i) => {
        if (!reachedTransitions.has(definition)) unreachedTransitions.push(`${node.id} --${eventType}[${i}]-->`);
      });
    }
  }
  return { paths: paths.length, unreachedStates, unreachedTransitions };
}
