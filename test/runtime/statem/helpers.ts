import { createNode, SimulatedClock, sys, type ExitReason, type Node, type Pid } from '../../../src/index.ts';

/** A node on a simulated clock: time moves only when a test says so. */
export function simulatedNode(options: { name?: string; start?: number } = {}): { node: Node; clock: SimulatedClock } {
  const clock = new SimulatedClock(options.start ?? 0);
  const node = createNode({ name: options.name, clock });
  return { node, clock };
}

/** Watches `pid` with a monitor; `reason` is the DOWN reason once it has exited. */
export function watch(node: Node, pid: Pid): { readonly down: boolean; readonly reason: ExitReason } {
  const seen: { down: boolean; reason: ExitReason } = { down: false, reason: undefined };
  node.monitor(pid, (d) => {
    seen.down = true;
    seen.reason = d.reason;
  });
  return seen;
}

/** Lets promise continuations (a rejected call, an actor's callTo reply) run; not a timed wait. */
export function flush(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** The `{ value, context }` of a gen_statem actor (`sys:get_state`). */
export function stateOf<C = Record<string, unknown>>(node: Node, pid: Pid): { value: unknown; context: C } {
  return sys.getState(node, pid) as { value: unknown; context: C };
}
