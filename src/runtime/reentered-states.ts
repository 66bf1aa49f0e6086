/**
 * Which state nodes a step left and entered again (XState's `reenter: true`, gen_statem's
 * `repeat_state`), although they are active before and after it.
 *
 * Comparing the active nodes cannot see a re-entry: the configuration is the same. XState reports
 * each microstep's transitions to its inspection hook (`@xstate.microstep`), so the runtime
 * records them and works out, with XState's own rule for a transition's domain
 * (`getTransitionDomain` in XState's `stateUtils`), which active nodes each one exited. A node
 * exited and active at the end was entered again. XState exports none of this, so the rule is
 * restated here; it is small and has been stable across XState v5.
 */

/** The parts of an XState state node this reads. */
interface Node {
  readonly type: string;
  readonly id: string;
  readonly parent?: Node;
  readonly initial?: { readonly target?: readonly Node[] };
}

/** The parts of an XState transition this reads. */
interface Transition {
  readonly source: Node;
  readonly target?: readonly Node[];
  readonly reenter?: boolean;
}

/** An `@xstate.microstep` inspection event: the transitions taken and the snapshot after them. */
export interface Microstep {
  readonly _transitions?: readonly Transition[];
  readonly snapshot?: { readonly historyValue?: Record<string, readonly Node[]> };
}

interface SnapshotNodes {
  readonly _nodes: readonly unknown[];
  readonly historyValue?: Record<string, readonly Node[]>;
}

/**
 * The nodes among `candidates` (say, those with a state timeout) that were active before the
 * step and after it, and were exited and entered again in between; `undefined` when there are none.
 */
export function reenteredStates(
  previous: SnapshotNodes,
  next: SnapshotNodes,
  microsteps: readonly Microstep[],
  candidates: ReadonlyMap<unknown, unknown>,
): Set<unknown> | undefined {
  let stayed: Node[] | undefined;
  for (const node of previous._nodes) {
    if (candidates.has(node) && next._nodes.includes(node)) (stayed ??= []).push(node as Node);
  }
  if (!stayed) return undefined;
  let found: Set<unknown> | undefined;
  let history = previous.historyValue ?? {};
  for (const step of microsteps) {
    for (const t of step._transitions ?? []) {
      if (!t.target?.length) continue; // a targetless transition exits nothing
      const domain = transitionDomain(t, history);
      for (const node of stayed) {
        if (isDescendant(node, domain) || (t.reenter && t.source === domain && node === domain)) (found ??= new Set()).add(node);
      }
    }
    history = step.snapshot?.historyValue ?? history;
  }
  return found;
}

function transitionDomain(t: Transition, history: Record<string, readonly Node[]>): Node | undefined {
  const targets = effectiveTargets(t.target ?? [], history);
  if (!t.reenter && targets.every((target) => target === t.source || isDescendant(target, t.source))) return t.source;
  const lca = leastCommonAncestor([...targets, t.source]);
  if (lca) return lca;
  if (t.reenter) return undefined;
  let root = t.source;
  while (root.parent) root = root.parent;
  return root;
}

function effectiveTargets(targets: readonly Node[], history: Record<string, readonly Node[]>): Node[] {
  const result = new Set<Node>();
  for (const target of targets) {
    if (target.type !== 'history') {
      result.add(target);
      continue;
    }
    const remembered = history[target.id];
    if (remembered) for (const node of remembered) result.add(node);
    // A history state entered for the first time goes to its default, here the parent's initial
    // state (the parent itself when it is parallel); a history's own explicit default `target`
    // is not read, which can only make the domain larger (a timeout re-armed, never one missed).
    else if (target.parent?.type === 'parallel') result.add(target.parent);
    else for (const node of effectiveTargets(target.parent?.initial?.target ?? [], history)) result.add(node);
  }
  return [...result];
}

function leastCommonAncestor(nodes: readonly Node[]): Node | undefined {
  const [head, ...tail] = nodes;
  for (let ancestor = head?.parent; ancestor; ancestor = ancestor.parent) {
    if (tail.every((node) => isDescendant(node, ancestor))) return ancestor;
  }
  return undefined;
}

/** XState's `isDescendant`, including its reading of an `undefined` parent as "above the root". */
function isDescendant(child: Node, parent: Node | undefined): boolean {
  let marker = child;
  while (marker.parent && marker.parent !== parent) marker = marker.parent;
  return marker.parent === parent;
}
