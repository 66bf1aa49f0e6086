import { SimulatedClock } from '../../runtime/clock.ts';
import { createNode } from '../../create-node.ts';
import type { Pid } from '../../runtime/pid.ts';
import { startMarketplace } from '../../../supervisors/marketplace.ts';
import { TARGET_KINDS, type ActorState, type PropertyTarget } from './target.ts';

/**
 * The marketplace on an embedded node (memory transport) with a simulated clock: every actor's
 * state is persisted to the marketplace's memory store after each event and each clock jump.
 */
export function memoryTarget(options: { start: number; pseudonymKey: string }): PropertyTarget {
  const clock = new SimulatedClock(options.start);
  const node = createNode({ clock });
  const market = startMarketplace(node, { pseudonymKey: options.pseudonymKey });
  const pidOf = (kind: string, customerId: string) => node.whereis(`entity:${kind}/${customerId}`) as Pid | undefined;
  return {
    transport: 'memory',
    clock,
    submit: (event) => market.submit(event),
    async advance(ms) {
      clock.advance(ms);
      market.persist();
    },
    async crash(kind, customerId) {
      const before = pidOf(kind, customerId);
      if (before === undefined) return { before, after: undefined };
      node.exit(before, 'boom');
      await node.settle();
      return { before, after: pidOf(kind, customerId) };
    },
    async states(customerId) {
      const states = new Map<string, ActorState>();
      for (const kind of TARGET_KINDS) {
        const state = market.stateOf(kind, customerId);
        // Receipts are history in the journal: seen with the context that counts them.
        if (state && kind === 'Receipts') {
          const receipts = market.store.journalOf({ entity: kind, key: customerId });
          states.set(kind, { ...state, context: { ...(state.context as object), receipts } });
        } else if (state && kind === 'Orchestrator') {
          // Handled-event records live beside the state: seen with it, by eventId.
          const handled = market.store.allRecords({ entity: kind, key: customerId });
          states.set(kind, { ...state, context: { ...(state.context as object), handled } });
        } else if (state && kind === 'Billing') {
          // Applied payments and issued invoices are records beside the state (`payment:<id>`, `invoice:<id>`).
          states.set(kind, { ...state, records: market.store.allRecords({ entity: kind, key: customerId }) });
        } else if (state) states.set(kind, state);
      }
      return states;
    },
    stop: () => node.stop(),
  };
}
