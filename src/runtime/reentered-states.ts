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
  readonly states?: Record<string, Node>;
  /** A history state's own default, as written (`target` in its config). */
  readonly config?: { readonly target?: unknown };
  readonly machine?: { getStateNodeById(id: string): Node };
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
    // Stryker disable next-line ConditionalExpression,LogicalOperator,ArrayDeclaration: a filter the caller repeats: it asks only about candidates active after the step
    if (candidates.has(node) && next._nodes.includes(node)) (stayed ??= []).push(node as Node);
  }
  if (!stayed) return undefined;
  let found: Set<unknown> | undefined;
  let history = previous.historyValue ?? {};
  for (const step of microsteps) {
    // Stryker disable next-line ArrayDeclaration: XState's microstep events always carry their transitions
    for (const t of step._transitions ?? []) {
      if (!t.target?.length) continue; // a targetless transition exits nothing
      const domain = transitionDomain(t, history);
      for (const node of stayed) {
        // XState's rule also exits the domain itself when it is the source of a re-entering
        // transition; it never is (a re-entering transition's domain is a proper ancestor of a
        // target, and never its source), so that clause is kept only to read as XState's.
        // Stryker disable next-line ConditionalExpression,LogicalOperator,EqualityOperator: that clause cannot hold, see above
        if (isDescendant(node, domain) || (t.reenter && t.source === domain && node === domain)) (found ??= new Set()).add(node);
      }
    }
    // Stryker disable next-line OptionalChaining: XState's microstep events always carry their snapshot
    history = step.snapshot?.historyValue ?? history;
  }
  return found;
}

function transitionDomain(t: Transition, history: Record<string, readonly Node[]>): Node | undefined {
  // Stryker disable next-line ArrayDeclaration: only transitions with targets get here
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
    else for (const node of effectiveTargets(historyDefault(target), history)) result.add(node);
  }
  return [...result];
}

/**
 * Where a history state entered for the first time goes (XState's `resolveHistoryDefaultTransition`):
 * its own `target`, else its parent's initial state, or the parent itself when it is parallel.
 */
function historyDefault(history: Node): readonly Node[] {
  const parent = history.parent!;
  // Stryker disable next-line OptionalChaining: every XState state node has its config
  const declared = history.config?.target as string | readonly string[] | undefined;
  // Stryker disable next-line ConditionalExpression,StringLiteral: '' is XState's "no target"; a history with it is refused by XState when the machine is created
  if (declared !== undefined && declared !== '') return (typeof declared === 'string' ? [declared] : declared).map((path) => nodeAt(parent, path));
  if (parent.type === 'parallel') return [parent];
  // Stryker disable next-line OptionalChaining,ArrayDeclaration: a history's parent that is not parallel is compound, so it has an initial state
  return parent.initial?.target ?? [];
}

/**
 * XState's `getStateNodeByPath` for a history's target: `#id`, or a dotted path below `from`.
 * XState resolved the same path in the step itself, so it exists.
 */
function nodeAt(from: Node, path: string): Node {
  if (path.startsWith('#')) return from.machine!.getStateNodeById(path);
  let node = from;
  for (const key of path.split('.')) node = node.states![key]!;
  return node;
}

function leastCommonAncestor(nodes: readonly Node[]): Node | undefined {
  const [head, ...tail] = nodes;
  // Stryker disable next-line OptionalChaining: never called without nodes (the transition's source is among them)
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
