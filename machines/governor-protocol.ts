/**
 * How the orchestrator and the governors talk: a two-phase protocol per lifecycle event.
 *
 * 1. `prepare` (a call): the governor checks the event against its state and keeps the change it
 *    would make as `pending` (persisted with its state, so a restart keeps it), then replies
 *    `applied`, `not_applicable`, `rejected` (with a reason) or `conflict`, with its version.
 * 2. `commit` or `abort` (casts, idempotent by event id): apply or drop the pending change.
 *
 * Nothing a governor shows changes before `commit`, which is what makes an event all-or-nothing.
 */

import { EVENT_ROUTES, type GovernorName } from '../src/marketplace/event-routing.ts';

export { GOVERNORS } from '../src/marketplace/event-routing.ts';
export type GovernorKind = GovernorName;

export type ReplyStatus = 'applied' | 'not_applicable' | 'rejected' | 'conflict';

export interface GovernorReply {
  readonly governor: GovernorKind;
  readonly status: ReplyStatus;
  readonly reason?: string;
  /** The governor's state version the reply was computed against (optimistic concurrency). */
  readonly version: number;
  /** Facts other governors' replies are checked against (e.g. `{ standing: 'delinquent' }`). */
  readonly facts?: Readonly<Record<string, string | number | boolean>>;
}

/** The lifecycle event as the governors see it (already validated at the door). */
export interface LifecycleEvent {
  readonly eventId: string;
  readonly customerId: string;
  readonly occurredAt: string;
  readonly type: string;
  readonly [field: string]: unknown;
}

export type GovernorMessage =
  | { type: 'prepare'; event: LifecycleEvent }
  | { type: 'commit'; eventId: string }
  | { type: 'abort'; eventId: string };

/**
 * Which governors an event type goes to, in order (SPEC §4); the domain owns the table. They are
 * asked all at once (`fan-out.ts`); the order is the order their answers are read in (the first
 * refusal is the reason) and compensated in reverse, and the order a new customer's governors are
 * created in. No phases are declared: no governor's decision reads another's state in the same
 * event (a `prepare` carries the event alone; commits come after every answer), so no governor
 * must wait for another's commit — Entitlement included, whose `prepare` never sees Billing's.
 */
export const ROUTES: Readonly<Record<string, readonly GovernorKind[]>> = EVENT_ROUTES;
