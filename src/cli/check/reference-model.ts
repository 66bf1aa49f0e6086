import { canCommit, detectConflicts } from '../../../machines/conflicts.ts';
import { GOVERNORS, ROUTES, type GovernorKind, type GovernorReply, type LifecycleEvent } from '../../../machines/governor-protocol.ts';
import { committedReplyOf, protocol, timeoutEventFor, timerDueAt, type GovernorContext } from '../../../machines/governors/governor-kit.ts';
import type { GovernorDataOf, GovernorDefinitions, GovernorStateOf } from '../../../machines/index.ts';
import { outcomeOf, subscriptionIdOf, type HandledOutcome, type HandledRecord } from '../../../machines/handled-events.ts';

/**
 * The marketplace as a pure fold: the orchestrator's rules (a handled-event record per event,
 * kept forever, routes, prepare in order, stop at the first refusal or declared conflict, commit all
 * or abort all, one receipt per committed event) over the governors' own pure definitions, with their state timeouts applied
 * as time passes. No actors, no mailboxes, no store, no crashes: what the real system must equal.
 */

export type ModelOutcome = { status: 'completed' } | { status: 'rejected'; reason: string } | { status: 'duplicate'; original: HandledOutcome };

/** A governor's context, typed by its kind's states and data. */
export type ModelContext<K extends GovernorKind> = GovernorContext<GovernorStateOf<K>, GovernorDataOf<K>>;

interface ModelGovernor<K extends GovernorKind> {
  context: ModelContext<K>;
  /** When the current state was entered, on the node's clock (a node-clock timeout runs from then; a business deadline is absolute). */
  enteredAt: number;
  /** The governor's records: the replies of the events committed here by eventId, and its decisions' own (usage keys, payments). */
  readonly committed: Map<string, unknown>;
}

export interface ModelCustomer {
  readonly governors: { [K in GovernorKind]?: ModelGovernor<K> };
  /** The handled events' records, by eventId, as the orchestrator keeps them (forever). */
  readonly handled: Map<string, HandledRecord>;
  /** Event ids with a receipt. */
  readonly receipts: string[];
}

export class MarketplaceModel {
  readonly customers = new Map<string, ModelCustomer>();

  constructor(readonly definitions: GovernorDefinitions) {}

  customer(id: string): ModelCustomer {
    let customer = this.customers.get(id);
    if (!customer) {
      customer = { governors: {}, handled: new Map(), receipts: [] };
      this.customers.set(id, customer);
    }
    return customer;
  }

  /** A governor's context, if it exists yet (an actor exists once it has been prepared). */
  context<K extends GovernorKind>(customerId: string, kind: K): ModelContext<K> | undefined {
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
      const reply = this.#prepare(customer, route[i]!, event, now);
      replies.push(reply);
      let reason: string | undefined;
      if (reply.status === 'rejected' || reply.status === 'conflict') {
        reason = `${reply.governor} ${reply.status}: ${reply.reason ?? 'no reason given'}`;
      } else {
        const conflicts = detectConflicts(event.eventId, replies);
        if (!canCommit(conflicts)) reason = `conflict: ${conflicts.map((c) => `${c.kind} (${c.resolution})`).join(', ')}`;
      }
      if (reason !== undefined) {
        for (const prepared of route.slice(0, i + 1)) this.#abort(customer, prepared, event.eventId);
        return { status: 'rejected', reason };
      }
    }
    for (const reply of replies) {
      if (reply.status !== 'applied' && reply.status !== 'not_applicable') continue;
      this.#commit(customer, reply.governor, event.eventId, now);
    }
    if (!customer.receipts.includes(event.eventId)) customer.receipts.push(event.eventId);
    const subscriptionId = subscriptionIdOf(replies);
    return { status: 'completed', ...(subscriptionId !== undefined ? { subscriptionId } : {}) };
  }

  /** The governor `kind` prepares `event` (created at its first one). */
  #prepare<K extends GovernorKind>(customer: ModelCustomer, kind: K, event: LifecycleEvent, now: number): GovernorReply {
    const definition = this.definitions[kind];
    const governor: ModelGovernor<K> = customer.governors[kind] ?? { context: protocol.initial(definition, event.customerId), enteredAt: now, committed: new Map() };
    adopt(customer.governors, kind, governor);
    const seen = committedReplyOf({ type: 'prepare', $record: governor.committed.get(event.eventId) ?? null });
    const prepared = protocol.prepare(definition, governor.context, event, seen, (key) => governor.committed.get(key));
    governor.context = prepared.context;
    return prepared.reply;
  }

  #abort<K extends GovernorKind>(customer: ModelCustomer, kind: K, eventId: string): void {
    const governor = customer.governors[kind];
    if (governor) governor.context = protocol.abort(governor.context, eventId);
  }

  /** The governor `kind` commits `eventId`: its records are written, its state moves (a new state is entered `now`). */
  #commit<K extends GovernorKind>(customer: ModelCustomer, kind: K, eventId: string, now: number): void {
    const governor = customer.governors[kind];
    if (!governor) return;
    const definition = this.definitions[kind];
    const before = governor.context.state;
    const records = protocol.committedRecords(definition, governor.context, eventId);
    for (const [key, value] of Object.entries(records)) governor.committed.set(key, value);
    governor.context = protocol.commit(definition, governor.context, eventId);
    if (governor.context.state !== before) governor.enteredAt = now;
  }

  /** Time moves to `now`: every state timeout that falls due fires, in each governor. */
  advanceTo(now: number): void {
    for (const customer of this.customers.values()) this.#advance(customer, now);
  }

  #advance(customer: ModelCustomer, now: number): void {
    for (const kind of GOVERNORS) this.#advanceOne(customer, kind, now);
  }

  #advanceOne<K extends GovernorKind>(customer: ModelCustomer, kind: K, now: number): void {
    const governor = customer.governors[kind];
    if (!governor) return;
    const definition = this.definitions[kind];
    for (let due = timerDueAt(definition, governor.context, governor.enteredAt); due !== undefined && due <= now; due = timerDueAt(definition, governor.context, governor.enteredAt)) {
      // The runtime fires an overdue timer when it is armed: the next state is entered then.
      governor.enteredAt = Math.max(due, governor.enteredAt);
      governor.context = protocol.timeout(definition, governor.context, timeoutEventFor(definition, governor.context));
    }
  }
}

/** Keeps `governor` as the customer's governor of kind `kind` (a mapped type over `K`, so its write is typed by `K`). */
function adopt<K extends GovernorKind>(governors: { [P in K]?: ModelGovernor<P> }, kind: K, governor: ModelGovernor<K>): void {
  governors[kind] = governor;
}
