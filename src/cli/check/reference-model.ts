import { canCommit, detectConflicts } from '../../../machines/conflicts.ts';
import { ROUTES, type GovernorKind, type GovernorReply, type LifecycleEvent } from '../../../machines/governor-protocol.ts';
import { protocol, timeoutEventFor, timerDueAt, type CommittedReply, type GovernorContext, type GovernorDefinition } from '../../../machines/governors/governor-kit.ts';
import { outcomeOf, subscriptionIdOf, type HandledOutcome, type HandledRecord } from '../../../machines/handled-events.ts';

/**
 * The marketplace as a pure fold: the orchestrator's rules (a handled-event record per event,
 * kept forever, routes, prepare in order, stop at the first refusal or declared conflict, commit all
 * or abort all, one receipt per committed event) over the governors' own pure definitions, with their state timeouts applied
 * as time passes. No actors, no mailboxes, no store, no crashes: what the real system must equal.
 */

export type ModelOutcome = { status: 'completed' } | { status: 'rejected'; reason: string } | { status: 'duplicate'; original: HandledOutcome };

interface ModelGovernor {
  context: GovernorContext<string, unknown>;
  /** When the current state was entered, on the node's clock (a node-clock timeout runs from then; a business deadline is absolute). */
  enteredAt: number;
  /** The governor's records: the replies of the events committed here by eventId, and its decisions' own (usage keys, payments). */
  readonly committed: Map<string, unknown>;
}

export interface ModelCustomer {
  readonly governors: Partial<Record<GovernorKind, ModelGovernor>>;
  /** The handled events' records, by eventId, as the orchestrator keeps them (forever). */
  readonly handled: Map<string, HandledRecord>;
  /** Event ids with a receipt. */
  readonly receipts: string[];
}

export class MarketplaceModel {
  readonly customers = new Map<string, ModelCustomer>();

  constructor(readonly definitions: Record<GovernorKind, GovernorDefinition<string, unknown>>) {}

  customer(id: string): ModelCustomer {
    let customer = this.customers.get(id);
    if (!customer) {
      customer = { governors: {}, handled: new Map(), receipts: [] };
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
    const seen = customer.handled.get(event.eventId);
    if (seen) return { status: 'duplicate', original: outcomeOf(seen) };
    const decided = this.#decide(customer, event, now);
    customer.handled.set(
      event.eventId,
      decided.status === 'completed'
        ? { status: 'completed', at: now, ...(decided.subscriptionId !== undefined ? { subscriptionId: decided.subscriptionId } : {}) }
        : { status: 'rejected', reason: decided.reason, at: now },
    );
    // Timers already due (a deadline from the event's business time that the node's clock has passed) fire at once.
    this.#advance(customer, now);
    return decided.status === 'completed' ? { status: 'completed' } : decided;
  }

  #decide(customer: ModelCustomer, event: LifecycleEvent, now: number): { status: 'completed'; subscriptionId?: string } | { status: 'rejected'; reason: string } {

    const route = ROUTES[event.type] ?? [];
    const replies: GovernorReply[] = [];
    for (let i = 0; i < route.length; i++) {
      const kind = route[i]!;
      const governor = (customer.governors[kind] ??= { context: protocol.initial(this.definitions[kind], event.customerId), enteredAt: now, committed: new Map() });
      const prepared = protocol.prepare(this.definitions[kind], governor.context, event, governor.committed.get(event.eventId) as CommittedReply | undefined, (key) => governor.committed.get(key));
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
      const records = protocol.committedRecords(this.definitions[reply.governor], governor.context, event.eventId);
      for (const [key, value] of Object.entries(records)) governor.committed.set(key, value);
      governor.context = protocol.commit(this.definitions[reply.governor], governor.context, event.eventId);
      if (governor.context.state !== before) governor.enteredAt = now;
    }
    if (!customer.receipts.includes(event.eventId)) customer.receipts.push(event.eventId);
    const subscriptionId = subscriptionIdOf(replies);
    return { status: 'completed', ...(subscriptionId !== undefined ? { subscriptionId } : {}) };
  }

  /** Time moves to `now`: every state timeout that falls due fires, in each governor. */
  advanceTo(now: number): void {
    for (const customer of this.customers.values()) this.#advance(customer, now);
  }

  #advance(customer: ModelCustomer, now: number): void {
    for (const [kind, governor] of Object.entries(customer.governors) as Array<[GovernorKind, ModelGovernor]>) {
      const definition = this.definitions[kind];
      for (let due = timerDueAt(definition, governor.context, governor.enteredAt); due !== undefined && due <= now; due = timerDueAt(definition, governor.context, governor.enteredAt)) {
        // The runtime fires an overdue timer when it is armed: the next state is entered then.
        governor.enteredAt = Math.max(due, governor.enteredAt);
        governor.context = protocol.timeout(definition, governor.context, timeoutEventFor(definition, governor.context));
      }
    }
  }
}
