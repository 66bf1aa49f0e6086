import { canCommit, detectConflicts } from '../../../machines/conflicts.ts';
import { ROUTES, type GovernorKind, type GovernorReply, type LifecycleEvent } from '../../../machines/governor-protocol.ts';
import { protocol, type GovernorContext, type GovernorDefinition } from '../../../machines/governors/governor-kit.ts';
import { findHandled, outcomeOf, outcomeRetention, recordHandled, type HandledEvent, type HandledOutcome, type OutcomeRetention } from '../../../machines/handled-events.ts';

/**
 * The marketplace as a pure fold: the orchestrator's rules (handled-event records and their
 * retention, routes, prepare in order, stop at the first refusal or declared conflict, commit all
 * or abort all, one receipt per committed event) over the governors' own pure definitions, with their state timeouts applied
 * as time passes. No actors, no mailboxes, no store, no crashes: what the real system must equal.
 */

export type ModelOutcome = { status: 'completed' } | { status: 'rejected'; reason: string } | { status: 'duplicate'; original: HandledOutcome };

interface ModelGovernor {
  context: GovernorContext<string, unknown>;
  /** When the current state was entered, on the node's clock (its state timeout runs from then). */
  enteredAt: number;
}

export interface ModelCustomer {
  readonly governors: Partial<Record<GovernorKind, ModelGovernor>>;
  /** The handled events and their outcomes, as the orchestrator keeps them. */
  handled: HandledEvent[];
  /** Event ids with a receipt. */
  readonly receipts: string[];
}

export class MarketplaceModel {
  readonly customers = new Map<string, ModelCustomer>();

  constructor(
    readonly definitions: Record<GovernorKind, GovernorDefinition<string, unknown>>,
    readonly retention: OutcomeRetention = outcomeRetention(),
  ) {}

  customer(id: string): ModelCustomer {
    let customer = this.customers.get(id);
    if (!customer) {
      customer = { governors: {}, handled: [], receipts: [] };
      this.customers.set(id, customer);
    }
    return customer;
  }

  /** A governor's context, if it exists yet (an actor exists once it has been prepared). */
  context(customerId: string, kind: GovernorKind): GovernorContext<string, unknown> | undefined {
    return this.customers.get(customerId)?.governors[kind]?.context;
  }

  /** One lifecycle event arriving, and ending, at `now`. */
  submit(event: LifecycleEvent, now: number): ModelOutcome {
    const customer = this.customer(event.customerId);
    const seen = findHandled(customer.handled, event.eventId);
    if (seen) return { status: 'duplicate', original: outcomeOf(seen) };
    const outcome = this.#decide(customer, event, now);
    customer.handled = recordHandled(
      customer.handled,
      outcome.status === 'completed' ? { eventId: event.eventId, status: 'completed', at: now } : { eventId: event.eventId, status: 'rejected', reason: outcome.reason, at: now },
      this.retention,
    );
    return outcome;
  }

  #decide(customer: ModelCustomer, event: LifecycleEvent, now: number): { status: 'completed' } | { status: 'rejected'; reason: string } {

    const route = ROUTES[event.type] ?? [];
    const replies: GovernorReply[] = [];
    for (let i = 0; i < route.length; i++) {
      const kind = route[i]!;
      const governor = (customer.governors[kind] ??= { context: protocol.initial(this.definitions[kind], event.customerId), enteredAt: now });
      const prepared = protocol.prepare(this.definitions[kind], governor.context, event);
      governor.context = prepared.context;
      replies.push(prepared.reply);
      let reason: string | undefined;
      if (prepared.reply.status === 'rejected' || prepared.reply.status === 'conflict') {
        reason = `${prepared.reply.governor} ${prepared.reply.status}: ${prepared.reply.reason ?? 'no reason given'}`;
      } else {
        const conflicts = detectConflicts(event.eventId, replies);
        if (!canCommit(conflicts)) reason = `conflict: ${conflicts.map((c) => `${c.kind} (${c.resolution})`).join(', ')}`;
      }
      if (reason !== undefined) {
        for (const prepared of route.slice(0, i + 1)) {
          const g = customer.governors[prepared]!;
          g.context = protocol.abort(g.context, event.eventId);
        }
        return { status: 'rejected', reason };
      }
    }
    for (const reply of replies) {
      if (reply.status !== 'applied' && reply.status !== 'not_applicable') continue;
      const governor = customer.governors[reply.governor]!;
      const before = governor.context.state;
      governor.context = protocol.commit(this.definitions[reply.governor], governor.context, event.eventId);
      if (governor.context.state !== before) governor.enteredAt = now;
    }
    if (!customer.receipts.includes(event.eventId)) customer.receipts.push(event.eventId);
    return { status: 'completed' };
  }

  /** Time moves to `now`: every state timeout that falls due fires, in each governor. */
  advanceTo(now: number): void {
    for (const customer of this.customers.values()) {
      for (const [kind, governor] of Object.entries(customer.governors) as Array<[GovernorKind, ModelGovernor]>) {
        const definition = this.definitions[kind];
        for (let rule = definition.timeouts?.[governor.context.state]; rule && governor.enteredAt + rule.ms <= now; rule = definition.timeouts?.[governor.context.state]) {
          governor.enteredAt += rule.ms;
          governor.context = protocol.timeout(definition, governor.context);
        }
      }
    }
  }
}
