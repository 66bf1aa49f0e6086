import { assign, enqueueActions, setup, type EventObject } from 'xstate';
import { putRecord, reply, stateTimeout } from '../../src/runtime/statem-actions.ts';
import type { PersistedActorState } from '../../src/runtime/persisted-state.ts';
import type { CallerRef } from '../../src/runtime/envelope.ts';
import type { RecordKeys } from '../../src/runtime/record-keys.ts';
import { LIFECYCLE_MESSAGE_TYPE } from '../../src/marketplace/lifecycle-message.ts';
import { ROUTES, type GovernorKind, type GovernorReply, type LifecycleEvent, type ReplyStatus } from '../governor-protocol.ts';
import { eventTime, type TimeoutClock } from './business-time.ts';

export { eventTime } from './business-time.ts';

/**
 * The one piece every governor shares: the two-phase protocol of `governor-protocol.ts` wrapped
 * around a pure decision, so a governor file holds only its domain (states, data, `decide`,
 * time-driven transitions).
 *
 * One `prepare`, in order:
 * 1. An event id already committed (a redelivery) gets the answer it got then, with the facts of
 *    the state as it is now; nothing changes. The answers of committed events are keyed records
 *    (`putRecord`, kept beside the state forever), handed over with the `prepare` as `$record`.
 * 2. A malformed event, or one of a type not routed to this governor, is refused or answered
 *    `not_applicable` without asking the domain.
 * 3. The business deadlines of the current state that are due by the event's business time are
 *    applied first ({@link asOf}, the rule of `business-time.ts`), as their timers would have.
 * 4. `decide(state, data, event)` gives the outcome (for a governor written out as an XState
 *    machine, `domain-machine.ts` makes `decide` the machine's own transition); an `applied` or `not_applicable` outcome is
 *    kept as `pending` (persisted with the actor, so a restart keeps it) with the version it was
 *    computed against.
 * 5. The reply carries that version and the facts of the state the change would lead to.
 *
 * `commit` (by event id, idempotent) moves to the pending state through a guarded transition
 * generated for every target state, replaces the data, bumps `version` and records the reply
 * under the event id (`putRecord`: beside the state, never in it, kept forever); a
 * `not_applicable` outcome is only recorded, so every governor of a committed event answers its
 * redelivery the same way. `abort` drops the pending outcome. A time-driven transition
 * that fires between prepare and commit makes the pending outcome stale: the commit then decides
 * again on the state as it is now and applies that, so a late timer can never be overwritten by a
 * decision taken before it.
 */

/** Facts a reply carries for the conflict rules (`machines/conflicts.ts`). */
export type Facts = Readonly<Record<string, string | number | boolean>>;

/** What a governor makes of an event. `next` is required for `applied` and ignored otherwise. */
export interface Decision<S extends string, D> {
  readonly status: ReplyStatus;
  readonly reason?: string;
  readonly facts?: Facts;
  readonly next?: { readonly state: S; readonly data: D };
  /**
   * Keyed records the commit of an `applied` decision writes with it (`putRecord`): history the
   * data need not carry, e.g. an idempotency key counted, a payment applied. A later decision
   * reads them through its `records` lookup under the keys {@link GovernorDefinition.recordKeys}
   * names.
   */
  readonly records?: Readonly<Record<string, unknown>>;
}

/**
 * A governor's committed keyed records as a decision reads them: the value under `key`,
 * `undefined` when there is none. Only the keys {@link GovernorDefinition.recordKeys} names for
 * the event are there (the runtime reads them before the `prepare`, so deciding stays synchronous).
 */
export type RecordLookup = (key: string) => unknown;

/** No records: a governor that has written none, or a decision that reads none. */
export const NO_RECORDS: RecordLookup = () => undefined;

/** A pure decision function: the whole domain logic of a governor for lifecycle events. */
export type Decide<S extends string, D> = (state: S, data: D, event: LifecycleEvent, customerId: string, records?: RecordLookup) => Decision<S, D>;

/**
 * A long wait: after `ms` in the state (a runtime state timeout, persisted), move to `to`. Which
 * clock counts the wait is the rule of `business-time.ts`.
 */
export interface TimeoutRule<S extends string, D> {
  /** The wait, from when the state was entered (in business time, unless `clock` is `'node'`). */
  readonly ms: number;
  readonly to: S;
  /** How the data changes when the time is up. @default unchanged */
  readonly update?: (data: D) => D;
  /**
   * `'business'`: a business deadline, `ms` after the business time the state was entered (or
   * {@link TimeoutRule.deadline}), armed on the node's clock as an absolute deadline and applied
   * before deciding any event whose business time is past it. `'node'`: an operational wait, `ms`
   * after the node entered the state. @default 'business'
   */
  readonly clock?: TimeoutClock;
  /**
   * The business deadline as the data knows it (epoch ms), when it does: a trial ends when the
   * plan's first cycle starts. `null`: not known, then `ms` after the state's entry counts.
   */
  readonly deadline?: (data: D) => number | null;
}

/** The view of a governor a query is answered from. */
export interface GovernorView<S extends string, D> {
  readonly customerId: string;
  readonly state: S;
  readonly version: number;
  readonly data: D;
}

/** A governor: its states and its domain, without any protocol code. */
export interface GovernorDefinition<S extends string, D> {
  readonly kind: GovernorKind;
  /** Every state, the initial one first or anywhere. */
  readonly states: readonly S[];
  readonly initial: S;
  /** The data of a customer the governor has never seen. */
  readonly init: (customerId: string) => D;
  readonly decide: Decide<S, D>;
  /**
   * The states `decide` may move to from another state (staying in the current state is always
   * allowed): a commit transition is generated for each. A state reached by time is in it when a
   * decision can stay in it: an event decided after a deadline its timer has not fired yet
   * ({@link asOf}) is committed into that state. States nothing can commit into are not, so no
   * transition exists that nothing can take.
   */
  readonly targets: readonly S[];
  readonly timeouts?: Readonly<Partial<Record<S, TimeoutRule<S, D>>>>;
  /**
   * An event the machine emits on entering a state (a dunning retry, a suspension), for the
   * runtime's traces and for whoever listens: the governor itself stays pure.
   */
  readonly announce?: Readonly<Partial<Record<S, (data: D) => { type: string; [key: string]: unknown }>>>;
  /** Facts describing a state, merged into every reply (the state the event leads to). */
  readonly facts?: (state: S, data: D) => Facts;
  /**
   * The keys of the records (`Decision.records`) a decision on `event` reads, besides its event
   * id's: handed over with the `prepare`, looked up by `decide` through its `records`. @default none
   */
  readonly recordKeys?: (event: LifecycleEvent) => readonly string[];
  /**
   * The data of a state persisted before its history moved to records, brought to this layout,
   * with the records that history becomes (committed with the migrated state, none lost);
   * `undefined` for data of this layout. @default none
   */
  readonly migrateData?: (data: D) => { readonly data: D; readonly records: Readonly<Record<string, unknown>> } | undefined;
  /** Calls answered in any state without changing anything (`inspect` is always there). */
  readonly queries?: Readonly<Record<string, (view: GovernorView<S, D>, event: Record<string, unknown>) => unknown>>;
}

/** A prepared outcome waiting for `commit` or `abort`: a change, or (`next: null`) nothing to do. */
export interface PendingChange<S extends string, D> {
  readonly eventId: string;
  readonly event: LifecycleEvent;
  /** The version the decision was computed against. */
  readonly basedOn: number;
  readonly reply: GovernorReply;
  /** `enteredAt`: the business time of `state` if the change enters it (absent in changes persisted before it was kept). */
  readonly next: { readonly state: S; readonly data: D; readonly enteredAt?: number | null } | null;
  /** The records the change writes with its commit (`Decision.records`). */
  readonly writes?: Readonly<Record<string, unknown>>;
  /**
   * The records the decision read (`null`: none), kept for a decision taken again at the commit
   * (a timer moved the state since): the commit's message carries none.
   */
  readonly reads?: Readonly<Record<string, unknown>>;
}

/**
 * A committed event's record, under its eventId: the reply it got (applied or not applicable),
 * without its facts (a redelivery is answered with the facts of the state as it is then).
 */
export type CommittedReply = Omit<GovernorReply, 'facts'>;

/** A committed event and its reply: the layout of the `committed` list of states before records. */
export interface CommittedOutcome {
  readonly eventId: string;
  readonly reply: GovernorReply;
}

/** Every governor's context: the protocol's fields around the domain's `data`. */
export interface GovernorContext<S extends string, D> {
  readonly customerId: string;
  /** Mirrors the state value: guards see only the context, and decisions need the state. */
  readonly state: S;
  /** Bumped by every change (commit or timeout): the optimistic-concurrency version of replies. */
  readonly version: number;
  readonly data: D;
  /**
   * The business time (epoch ms) the current state was entered: the `occurredAt` of the event that
   * moved it there, or the deadline whose timeout did. `null` when unknown (the initial state, a
   * node-clock timeout); absent in a state persisted before it was kept (such a state's timer was
   * armed on the node's clock, and is honoured as it is).
   */
  readonly enteredAt?: number | null;
  readonly pending: PendingChange<S, D> | null;
}

/** The record key a message to a governor needs: a `prepare`'s eventId (`EntityKind.recordKey`). */
export function governorRecordKey(event: EventObject): string | undefined {
  if (event.type !== 'prepare' && event.type !== LIFECYCLE_MESSAGE_TYPE) return undefined;
  const carried = 'event' in event ? event.event : undefined;
  const eventId = typeof carried === 'object' && carried !== null && 'eventId' in carried ? carried.eventId : undefined;
  return typeof eventId === 'string' && eventId.length > 0 ? eventId : undefined;
}

/**
 * The record keys a message to a governor of `definition` needs (`EntityKind.recordKey`): a
 * `prepare`'s eventId, and the keys its decision reads ({@link GovernorDefinition.recordKeys}),
 * as a list when there are any. The orchestrator's lifecycle message names the same keys, so a
 * transport that reads records before a delivery reads the governors' with the orchestrator's —
 * but only when the event's route ({@link ROUTES}) calls this governor: the others get no
 * `prepare` for it, and a read for each was a Redis command per governor per event for nothing
 * (issue 15). A wrong guess costs a re-run, never a decision (the lookup of a record not read
 * first crashes the step undecided). A malformed event is refused by the decision, which reads
 * nothing: it needs its eventId's record only.
 */
export function governorRecordKeys<S extends string, D>(definition: GovernorDefinition<S, D>): (event: EventObject) => RecordKeys {
  const more = definition.recordKeys;
  return (event) => {
    const eventId = governorRecordKey(event);
    if (eventId === undefined) return undefined;
    const carried = 'event' in event ? event.event : undefined;
    const lifecycle = isWellFormed(carried) ? carried : undefined;
    if (event.type === LIFECYCLE_MESSAGE_TYPE && !(lifecycle && ROUTES[lifecycle.type]?.includes(definition.kind))) return undefined;
    if (!more || !lifecycle) return eventId;
    let keys: readonly string[];
    try {
      keys = more(lifecycle);
    } catch {
      keys = []; // an event the domain cannot read is refused by the decision, which reads nothing
    }
    return keys.length === 0 ? eventId : [eventId, ...keys];
  };
}

/**
 * The records handed over with a `prepare` (`$record`: one key's value, or an object of the
 * keys {@link governorRecordKeys} named): the committed reply of its event id, and a lookup of
 * the others for `decide`.
 */
export function handedRecords(event: EventObject, named: RecordKeys): { seen: CommittedReply | undefined; records: RecordLookup } {
  const handed = (event as { $record?: unknown }).$record;
  if (typeof named === 'string' || named === undefined) return { seen: committedReplyOf(event), records: NO_RECORDS };
  const values = (typeof handed === 'object' && handed !== null ? handed : {}) as Record<string, unknown>;
  const eventId = named[0]!;
  return {
    seen: committedReplyOf({ ...event, $record: values[eventId] ?? null } as EventObject),
    records: (key) => (Object.hasOwn(values, key) && key !== eventId ? (values[key] ?? undefined) : undefined),
  };
}

/**
 * The committed reply handed over with a `prepare` (`$record`), checked: `undefined` when none.
 * A value that is not one throws (a crash, retried then dead-lettered with the reason): taking
 * it for "no record" would decide a committed event again.
 */
export function committedReplyOf(event: EventObject & { readonly $record?: unknown }): CommittedReply | undefined {
  const record = event.$record;
  if (record === undefined || record === null) return undefined;
  const r = record as Partial<CommittedReply>;
  if (typeof record !== 'object' || typeof r.governor !== 'string' || (r.status !== 'applied' && r.status !== 'not_applicable')) {
    throw new TypeError(`the committed record of event ${JSON.stringify(governorRecordKey(event))} is not one: restore it from a backup`);
  }
  return record as CommittedReply;
}

/**
 * A stored governor state of the layout before (its context holds `committed`, the replies of its
 * last committed events) brought to this one: the list becomes records, committed with the
 * migrated state, none lost. `undefined` for a state of this layout.
 */
export function migrateGovernorState<S extends string, D>(
  state: PersistedActorState,
  definition?: Pick<GovernorDefinition<S, D>, 'migrateData'>,
): { state: PersistedActorState; records: Record<string, unknown> } | undefined {
  const snapshot = state.snapshot as { context?: Record<string, unknown> } & Record<string, unknown>;
  let context = snapshot.context;
  if (!context) return undefined;
  const records: Record<string, unknown> = {};
  let changed = false;
  if (Array.isArray(context.committed)) {
    for (const { eventId, reply: answer } of context.committed as CommittedOutcome[]) {
      if (typeof eventId !== 'string' || typeof answer !== 'object' || answer === null) continue;
      const { facts: _facts, ...kept } = answer;
      records[eventId] = kept;
    }
    const { committed: _committed, ...rest } = context;
    context = rest;
    changed = true;
  }
  // The domain's history (idempotency keys, payments) moves to records too; so does a pending
  // change's data, committed later as it was prepared.
  const moved = definition?.migrateData?.(context.data as D);
  if (moved) {
    Object.assign(records, moved.records);
    context = { ...context, data: moved.data };
    changed = true;
  }
  const pending = context.pending as { next?: { data?: D } | null } | null | undefined;
  const pendingMoved = pending?.next?.data !== undefined ? definition?.migrateData?.(pending.next.data) : undefined;
  if (pendingMoved && pending?.next) {
    // Records of the pending change are written only by its commit: keep them with it.
    context = { ...context, pending: { ...pending, next: { ...pending.next, data: pendingMoved.data }, writes: { ...(pending as { writes?: object }).writes, ...pendingMoved.records } } };
    changed = true;
  }
  if (!changed) return undefined;
  return { state: { ...state, snapshot: { ...snapshot, context } }, records };
}

/** A `prepare`: the event to decide, with the records the runtime hands over with it (`$record`). */
export type PrepareEvent = { type: 'prepare'; event: LifecycleEvent; $from?: CallerRef; $record?: unknown };

export type GovernorEvent =
  | PrepareEvent
  | { type: 'commit'; eventId: string }
  | { type: 'abort'; eventId: string }
  | TimeoutEvent
  | { type: 'inspect'; $from?: CallerRef };

/**
 * A call to one of the definition's {@link GovernorDefinition.queries}, with its arguments. Its
 * type is a name only the definition knows, so it is `string` here: the protocol's messages are
 * told from it by their own type guards ({@link isPrepareEvent}, {@link isTimeoutEvent}), and
 * `defineGovernor` refuses a query named like one of them.
 */
export type QueryEvent = { type: string; $from?: CallerRef; [argument: string]: unknown };

/** Every message a governor's machine takes. */
export type GovernorMachineEvent = GovernorEvent | QueryEvent;

/**
 * A state timeout firing. The kit's timers name the state they were armed for and their business
 * deadline (`null`: counted on the node's clock); a bare `{ type: 'timeout' }` is the timer of a
 * state persisted before business-time deadlines, honoured only while that state is still the one
 * it was armed for (its context has no `enteredAt` yet).
 */
export type TimeoutEvent = {
  readonly type: 'timeout';
  readonly state?: string;
  readonly deadline?: number | null;
};

/** Whether a governor's message is a `prepare` (a query may not be named so: see {@link QueryEvent}). */
export function isPrepareEvent(event: GovernorMachineEvent): event is PrepareEvent {
  return event.type === 'prepare';
}

/** Whether a governor's message is a state timeout firing. */
export function isTimeoutEvent(event: GovernorMachineEvent): event is TimeoutEvent {
  return event.type === 'timeout';
}

/** The event id a `commit` or an `abort` names (`''` for any other message, or one without an id: it matches no pending change). */
function commitEventId(event: GovernorMachineEvent): string {
  if (event.type !== 'commit' && event.type !== 'abort') return '';
  return typeof event.eventId === 'string' ? event.eventId : '';
}

const routed = new Map<GovernorKind, ReadonlySet<string>>();

/** The event types routed to a governor (`ROUTES`): the only ones its `decide` is asked about. */
export function routedTypes(kind: GovernorKind): ReadonlySet<string> {
  let types = routed.get(kind);
  if (!types) {
    types = new Set(Object.entries(ROUTES).filter(([, governors]) => governors.includes(kind)).map(([type]) => type));
    routed.set(kind, types);
  }
  return types;
}

/**
 * The business deadline (epoch ms) of the current state's timeout, or `null`: no timeout, a
 * node-clock one, or an entry time not known (then the timer counts `ms` on the node's clock).
 */
export function businessDeadline<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  context: Pick<GovernorContext<S, D>, 'state' | 'data' | 'enteredAt'>,
): number | null {
  const rule = definition.timeouts?.[context.state];
  if (!rule || rule.clock === 'node') return null;
  const known = rule.deadline?.(context.data);
  if (typeof known === 'number' && Number.isFinite(known)) return known;
  return typeof context.enteredAt === 'number' ? context.enteredAt + rule.ms : null;
}

/** The timeout event the kit arms for the current state (what fires when its time is up). */
export function timeoutEventFor<S extends string, D>(definition: GovernorDefinition<S, D>, context: Pick<GovernorContext<S, D>, 'state' | 'data' | 'enteredAt'>): TimeoutEvent {
  const rule = definition.timeouts?.[context.state];
  if (!rule || rule.clock === 'node') return { type: 'timeout' };
  return { type: 'timeout', state: context.state, deadline: businessDeadline(definition, context) };
}

/**
 * When the current state's timer is due on the node's clock, given when the node entered the
 * state: its business deadline, or `nodeEnteredAt + ms`. `undefined`: no timeout. For reference
 * models that fold time as the runtime does.
 */
export function timerDueAt<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  context: Pick<GovernorContext<S, D>, 'state' | 'data' | 'enteredAt'>,
  nodeEnteredAt: number,
): number | undefined {
  const rule = definition.timeouts?.[context.state];
  if (!rule) return undefined;
  return businessDeadline(definition, context) ?? nodeEnteredAt + rule.ms;
}

type Moment<S extends string, D> = Pick<GovernorContext<S, D>, 'state' | 'data' | 'enteredAt'>;

/** The current state's timeout applied: the next state, its data and its business entry time. */
function timedOut<S extends string, D>(definition: GovernorDefinition<S, D>, context: Moment<S, D>, deadline: number | null | undefined): Moment<S, D> {
  const rule = definition.timeouts?.[context.state];
  if (!rule) return context;
  return {
    state: rule.to,
    data: rule.update ? rule.update(context.data) : context.data,
    enteredAt: rule.clock === 'node' ? null : (deadline ?? businessDeadline(definition, context)),
  };
}

/**
 * The state and data as of business time `at`: every business deadline at or before `at` applied,
 * in order, as the timers would have (rule 3 of `business-time.ts`). Pure; the same context when
 * nothing is due.
 */
export function asOf<S extends string, D, C extends Moment<S, D>>(definition: GovernorDefinition<S, D>, context: C, at: number): C {
  let now: C = context;
  // A chain of deadlines is at most one step per state long; more would be a loop of timeouts.
  for (let step = 0; step < definition.states.length; step++) {
    const deadline = businessDeadline(definition, now);
    if (deadline === null || !(deadline <= at)) break;
    now = { ...now, ...timedOut(definition, now, deadline) };
  }
  return now;
}

/** The last event {@link malformed} checked and its answer: a prepare checks its event twice (prepareDecision, decideEvent). */
let lastChecked: { event: unknown; problem: string | undefined } = { event: undefined, problem: undefined };

/** Checks the envelope fields every lifecycle event has; returns a problem or `undefined`. */
function malformed(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return 'the event is not an object';
  if (lastChecked.event === event) return lastChecked.problem;
  const problem = envelopeProblem(event);
  lastChecked = { event, problem };
  return problem;
}

function envelopeProblem(event: object): string | undefined {
  const e = event as Record<string, unknown>;
  for (const field of ['eventId', 'customerId', 'occurredAt', 'type']) {
    if (typeof e[field] !== 'string' || (e[field] as string).length === 0) return `${field} must be a non-empty string`;
  }
  if (Number.isNaN(Date.parse(e.occurredAt as string))) return `occurredAt "${String(e.occurredAt)}" is not an ISO 8601 time`;
  return undefined;
}

/** Whether `event` has the envelope every lifecycle event has (see {@link malformed}). */
function isWellFormed(event: unknown): event is LifecycleEvent {
  return malformed(event) === undefined;
}

/**
 * Runs `decide` with the protocol's checks around it. Pure. A throwing decision (a bug, or input
 * the domain code did not expect) is a rejection naming the error, never a crash: bad input must
 * not take an actor down, and the event is refused everywhere with that reason.
 */
export function decideEvent<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  context: Pick<GovernorContext<S, D>, 'state' | 'data' | 'customerId'>,
  event: LifecycleEvent,
  records: RecordLookup = NO_RECORDS,
): Decision<S, D> {
  const problem = malformed(event);
  if (problem) return { status: 'rejected', reason: `malformed event: ${problem}` };
  if (event.customerId !== context.customerId) {
    return { status: 'rejected', reason: `event for customer "${event.customerId}" reached the governor of "${context.customerId}"` };
  }
  if (!routedTypes(definition.kind).has(event.type)) {
    return { status: 'not_applicable', reason: `${definition.kind} does not handle ${event.type}` };
  }
  try {
    const decision = definition.decide(context.state, context.data, event, context.customerId, records);
    if (decision.status === 'applied' && !decision.next) {
      return { status: 'rejected', reason: `${definition.kind} applied ${event.type} without a next state (a governor bug)` };
    }
    if (decision.next && decision.next.state !== context.state && !definition.targets.includes(decision.next.state)) {
      return { status: 'rejected', reason: `${definition.kind} chose "${decision.next.state}", which is not one of its targets (a governor bug)` };
    }
    return decision;
  } catch (error) {
    return { status: 'rejected', reason: `${definition.kind} could not decide ${event.type}: ${error instanceof Error ? error.message : String(error)}` };
  }
}

/**
 * What a governor makes of `event` now: the state as of the event's business time ({@link asOf}),
 * the decision on it, the reply, and the change to keep (with its business entry time).
 */
export function prepareDecision<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  context: GovernorContext<S, D>,
  event: LifecycleEvent,
  records: RecordLookup = NO_RECORDS,
): { decision: Decision<S, D>; reply: GovernorReply; next: PendingChange<S, D>['next'] } {
  const well = malformed(event) === undefined;
  const now = well ? asOf(definition, context, eventTime(event)) : context;
  let decision = decideEvent(definition, now, event, records);
  if (decision.next && decision.status === 'applied' && decision.next.state !== context.state && !definition.targets.includes(decision.next.state)) {
    // Staying in a state the deadlines led to is a commit into it: it must be a target too.
    decision = { status: 'rejected', reason: `${definition.kind} chose "${decision.next.state}" after its deadlines, which is not one of its targets (a governor bug)` };
  }
  const reply = replyFor(definition, now, decision);
  if (decision.status !== 'applied' || !decision.next) return { decision, reply, next: null };
  const { state, data } = decision.next;
  // Staying in the state the deadlines led to keeps its entry time; any other state is entered now.
  const enteredAt = state === now.state ? now.enteredAt : eventTime(event);
  return { decision, reply, next: { state, data, enteredAt } };
}

/** The reply for a decision, with the facts of the state it leads to. */
export function replyFor<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  context: Pick<GovernorContext<S, D>, 'state' | 'data' | 'version'>,
  decision: Decision<S, D>,
): GovernorReply {
  const after = decision.status === 'applied' && decision.next ? decision.next : { state: context.state, data: context.data };
  const facts = { ...definition.facts?.(after.state, after.data), ...decision.facts };
  return {
    governor: definition.kind,
    status: decision.status,
    ...(decision.reason !== undefined ? { reason: decision.reason } : {}),
    version: context.version,
    ...(Object.keys(facts).length > 0 ? { facts } : {}),
  };
}

/**
 * What a `commit` of `eventId` does now: apply a change, record an event that changed nothing
 * here (so its redelivery gets the same answer), drop a stale change, or nothing.
 */
export type CommitResolution<S extends string, D> =
  | { kind: 'apply'; next: { state: S; data: D; enteredAt?: number | null }; reply: GovernorReply; writes?: Readonly<Record<string, unknown>> }
  | { kind: 'record'; reply: GovernorReply }
  | { kind: 'drop' }
  | { kind: 'none' };

export function resolveCommit<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  context: GovernorContext<S, D>,
  eventId: string,
): CommitResolution<S, D> {
  const pending = context.pending;
  if (!pending || pending.eventId !== eventId) return NO_COMMIT;
  // One commit asks this of the same context once per commit transition's guard, then for its
  // records and its next context: pure on immutable inputs, so the last answer is kept.
  const last = lastCommit;
  if (last.context === context && last.eventId === eventId && last.definition === definition) return last.resolution as CommitResolution<S, D>;
  const resolution = resolveCommitNow(definition, context, pending);
  lastCommit = { definition, context, eventId, resolution };
  return resolution;
}

const NO_COMMIT = Object.freeze({ kind: 'none' }) as CommitResolution<never, never>;
let lastCommit: { definition: unknown; context: unknown; eventId: string; resolution: unknown } = { definition: undefined, context: undefined, eventId: '', resolution: undefined };

function resolveCommitNow<S extends string, D>(definition: GovernorDefinition<S, D>, context: GovernorContext<S, D>, pending: PendingChange<S, D>): CommitResolution<S, D> {
  if (pending.basedOn === context.version) {
    return pending.next ? { kind: 'apply', next: pending.next, reply: pending.reply, ...(pending.writes ? { writes: pending.writes } : {}) } : { kind: 'record', reply: pending.reply };
  }
  // A timer changed the state since the prepare: decide again on the state as it is now, on the
  // records the prepare read.
  const reads = pending.reads ?? {};
  const { decision, reply, next } = prepareDecision(definition, context, pending.event, (key) => reads[key] ?? undefined);
  if (next) return { kind: 'apply', next, reply, ...(decision.records ? { writes: decision.records } : {}) };
  return decision.status === 'not_applicable' ? { kind: 'record', reply } : { kind: 'drop' };
}

/** A governor's context after the transitions of the protocol; pure, shared with reference models. */
export const protocol = {
  initial<S extends string, D>(definition: GovernorDefinition<S, D>, customerId: string): GovernorContext<S, D> {
    return { customerId, state: definition.initial, version: 0, data: definition.init(customerId), enteredAt: null, pending: null };
  },

  /**
   * The reply to a `prepare` and the context after it; `seen`: the record of the event, if it was
   * committed here before; `records`: the records its decision reads (the keys
   * {@link GovernorDefinition.recordKeys} names). The runtime hands both over with the `prepare`.
   */
  prepare<S extends string, D>(
    definition: GovernorDefinition<S, D>,
    context: GovernorContext<S, D>,
    event: LifecycleEvent,
    seen?: CommittedReply,
    records: RecordLookup = NO_RECORDS,
  ): { reply: GovernorReply; context: GovernorContext<S, D> } {
    const eventId = typeof event?.eventId === 'string' ? event.eventId : undefined;
    if (seen && eventId !== undefined) {
      // The same answer, with the facts of the state as it is now: the orchestrator checks facts
      // against the other governors' current ones, and stale facts would hide a conflict.
      const facts = definition.facts?.(context.state, context.data);
      const { facts: _old, ...answer } = seen as GovernorReply;
      return { reply: { ...answer, version: context.version, ...(facts && Object.keys(facts).length > 0 ? { facts } : {}) }, context };
    }
    const { decision, reply, next } = prepareDecision(definition, context, event, records);
    const pending: PendingChange<S, D> | null =
      eventId === undefined || decision.status === 'rejected' || decision.status === 'conflict'
        ? null
        : { eventId, event, basedOn: context.version, reply, next, ...(next && decision.records ? { writes: decision.records } : {}), ...readsOf(definition, event, records) };
    // A pending change of another event is stale (the orchestrator is serial per customer and
    // has moved on without a commit or an abort reaching us): drop it.
    return { reply, context: { ...context, pending } };
  },

  commit<S extends string, D>(definition: GovernorDefinition<S, D>, context: GovernorContext<S, D>, eventId: string): GovernorContext<S, D> {
    const resolution = resolveCommit(definition, context, eventId);
    if (resolution.kind === 'none') return context;
    if (resolution.kind === 'drop') return { ...context, pending: null };
    if (resolution.kind === 'record') return { ...context, pending: null };
    return applyCommit(context, resolution.next, context.pending!.event);
  },

  /** The record a `commit` of `eventId` writes (the reply, without facts), on the context before it; `undefined`: none. */
  committedRecord<S extends string, D>(definition: GovernorDefinition<S, D>, context: GovernorContext<S, D>, eventId: string): CommittedReply | undefined {
    const resolution = resolveCommit(definition, context, eventId);
    if (resolution.kind !== 'apply' && resolution.kind !== 'record') return undefined;
    const { facts: _facts, ...record } = resolution.reply;
    return record;
  },

  /**
   * Every record a `commit` of `eventId` writes, on the context before it: the reply under the
   * event id, and the change's own (`Decision.records`). Empty: none.
   */
  committedRecords<S extends string, D>(definition: GovernorDefinition<S, D>, context: GovernorContext<S, D>, eventId: string): Record<string, unknown> {
    const resolution = resolveCommit(definition, context, eventId);
    if (resolution.kind !== 'apply' && resolution.kind !== 'record') return {};
    const { facts: _facts, ...record } = resolution.reply;
    return { ...(resolution.kind === 'apply' ? resolution.writes : undefined), [eventId]: record };
  },

  abort<S extends string, D>(context: GovernorContext<S, D>, eventId: string): GovernorContext<S, D> {
    return context.pending?.eventId === eventId ? { ...context, pending: null } : context;
  },

  /**
   * The state timeout of the current state firing (`event`: the timer's, whose deadline becomes
   * the next state's business entry time; without it, the deadline the state has now).
   */
  timeout<S extends string, D>(definition: GovernorDefinition<S, D>, context: GovernorContext<S, D>, event?: TimeoutEvent): GovernorContext<S, D> {
    if (!definition.timeouts?.[context.state]) return context;
    return { ...context, ...timedOut(definition, context, event?.deadline), version: context.version + 1 };
  },

  /** Whether the machine takes `event` as the current state's timeout (a stale timer is ignored). */
  takesTimeout<S extends string, D>(definition: GovernorDefinition<S, D>, context: GovernorContext<S, D>, event: TimeoutEvent): boolean {
    if (!definition.timeouts?.[context.state]) return false;
    if (event.state !== undefined) return event.state === context.state;
    // A bare timeout: a node-clock rule's, or the timer of a state persisted before business
    // deadlines, valid only while the state it was armed for has not been left since.
    return definition.timeouts[context.state]!.clock === 'node' || context.enteredAt === undefined;
  },
};

/** The records a decision read, kept with its pending change (`PendingChange.reads`); nothing when it reads none. */
function readsOf<S extends string, D>(definition: GovernorDefinition<S, D>, event: LifecycleEvent, records: RecordLookup): { reads?: Record<string, unknown> } {
  if (!definition.recordKeys || records === NO_RECORDS) return {};
  let keys: readonly string[];
  try {
    keys = definition.recordKeys(event);
  } catch {
    return {};
  }
  if (keys.length === 0) return {};
  const reads: Record<string, unknown> = {};
  for (const key of keys) reads[key] = records(key) ?? null;
  return { reads };
}

function applyCommit<S extends string, D>(context: GovernorContext<S, D>, next: { state: S; data: D; enteredAt?: number | null }, event: LifecycleEvent): GovernorContext<S, D> {
  // A change prepared before entry times were kept: a new state is entered at the event's time.
  const enteredAt = next.enteredAt !== undefined ? next.enteredAt : next.state === context.state ? context.enteredAt : eventTime(event);
  return {
    ...context,
    state: next.state,
    data: next.data,
    ...(enteredAt !== undefined ? { enteredAt } : {}),
    version: context.version + 1,
    pending: null,
  };
}

/** The protocol's messages: a query may not take one of these names (the protocol's handler would hide it). */
const PROTOCOL_MESSAGES: ReadonlySet<string> = new Set(['prepare', 'commit', 'abort', 'timeout', 'inspect']);

/**
 * Builds a governor's XState machine from its definition. The machine is pure (replies are the
 * runtime's `reply` action; time is the runtime's state timeouts: business deadlines armed by
 * entry actions as absolute times, node-clock waits declared in `meta`), so
 * `xstate/graph` can traverse it and tests can step it without a runtime. Its guards and actions
 * are named (`setup`), typed by the definition's states and data.
 *
 * @example
 * export const billingMachine = defineGovernor({ kind: 'Billing', states, initial, init, decide, timeouts, facts });
 */
export function defineGovernor<S extends string, D>(definition: GovernorDefinition<S, D>) {
  type C = GovernorContext<S, D>;
  const queries = definition.queries ?? {};
  for (const name of Object.keys(queries)) {
    if (PROTOCOL_MESSAGES.has(name)) throw new Error(`${definition.kind}: a query may not be named "${name}", a protocol message: rename it`);
  }
  const recordKeysOf = governorRecordKeys(definition);
  const resolution = (context: C, event: GovernorMachineEvent) => resolveCommit(definition, context, commitEventId(event));

  const governor = setup({
    types: {} as { context: C; events: GovernorMachineEvent; input: { key: string } },
    guards: {
      /** The pending change of the commit moves to `state` (another state than the current one). */
      commitsInto: ({ context, event }, params: { state: S }) => {
        const r = resolution(context, event);
        return r.kind === 'apply' && r.next.state === params.state && context.state !== params.state;
      },
      /** The timer is the current state's (a stale one is ignored). */
      takesTimeout: ({ context, event }) => isTimeoutEvent(event) && protocol.takesTimeout(definition, context, event),
    },
    actions: {
      prepare: enqueueActions(({ context, event, enqueue }) => {
        if (!isPrepareEvent(event)) return;
        const { seen, records } = handedRecords(event, recordKeysOf(event));
        const { reply: answer, context: next } = protocol.prepare(definition, context, event.event, seen, records);
        if (next !== context) enqueue.assign(next);
        enqueue(reply(() => answer));
      }),
      commit: enqueueActions(({ context, event, enqueue }) => {
        const eventId = commitEventId(event);
        // The records first, from the context before the commit (it knows the pending reply).
        const records = protocol.committedRecords(definition, context, eventId);
        for (const [key, value] of Object.entries(records)) enqueue(putRecord(key, () => value));
        const next = protocol.commit(definition, context, eventId);
        if (next !== context) enqueue.assign(next);
      }),
      abort: assign(({ context, event }) => protocol.abort(context, commitEventId(event))),
      timeOut: assign(({ context, event }) => protocol.timeout(definition, context, isTimeoutEvent(event) ? event : undefined)),
      /**
       * A business deadline, armed as an absolute time on the node's clock (an entry action, so
       * the deadline comes from the data); unknown, it counts `ms` on the node's clock.
       */
      armDeadline: enqueueActions(({ context, enqueue }, params: { ms: number }) => {
        const timer = timeoutEventFor(definition, context);
        const deadline = timer.deadline ?? null;
        enqueue(deadline === null ? stateTimeout(params.ms, timer) : stateTimeout(deadline, timer, { abs: true }));
      }),
      /** The event the definition announces on entering `state`. */
      announce: enqueueActions(({ context, enqueue }, params: { state: S }) => {
        const announcement = definition.announce?.[params.state];
        if (announcement) enqueue.emit(announcement(context.data));
      }),
      inspect: reply(({ context }: { context: C }) => ({
        governor: definition.kind,
        state: context.state,
        version: context.version,
        data: context.data,
        pending: context.pending?.eventId ?? null,
      })),
      answer: enqueueActions(({ context, event, enqueue }, params: { query: string }) => {
        const answerOf = queries[params.query];
        if (!answerOf) return;
        let value: unknown;
        // A query with bad arguments is the caller's problem: answer it, never crash on it.
        try {
          value = answerOf({ customerId: context.customerId, state: context.state, version: context.version, data: context.data }, event);
        } catch (error) {
          value = { error: error instanceof Error ? error.message : String(error) };
        }
        enqueue(reply(() => value));
      }),
    },
  });

  const stateNode = (state: S) => {
    const rule = definition.timeouts?.[state];
    const announces = definition.announce?.[state] !== undefined;
    const entry = [
      ...(announces ? [{ type: 'announce', params: { state } } as const] : []),
      ...(rule && rule.clock !== 'node' ? [{ type: 'armDeadline', params: { ms: rule.ms } } as const] : []),
    ];
    return governor.createStateConfig({
      ...(entry.length > 0 ? { entry } : {}),
      ...(rule?.clock === 'node' ? { meta: { stateTimeout: { ms: rule.ms, event: { type: 'timeout' } } } } : {}),
      ...(rule ? { on: { timeout: { guard: 'takesTimeout', target: `#${definition.kind}.${rule.to}`, actions: 'timeOut' } } } : {}),
    });
  };
  const states: Record<string, ReturnType<typeof stateNode>> = {};
  for (const state of definition.states) states[state] = stateNode(state);
  const queryHandlers: Record<string, { actions: { type: 'answer'; params: { query: string } } }> = {};
  for (const query of Object.keys(queries)) queryHandlers[query] = { actions: { type: 'answer', params: { query } } };

  return governor.createMachine({
    id: definition.kind,
    initial: definition.initial,
    // Postpones nothing: every protocol message is answered in any state, and anything else is
    // a crash (the runtime's default), so a stray message is dead-lettered with its type.
    meta: { postpone: [] },
    context: ({ input }) => protocol.initial(definition, input.key),
    on: {
      ...queryHandlers,
      inspect: { actions: 'inspect' },
      prepare: { actions: 'prepare' },
      // A timer that is not the current state's (armed for a state since left, before deadlines
      // were business time) changes nothing: the state it stood for is gone.
      timeout: {},
      commit: [
        // One guarded transition per target state, so the state node really changes (and the
        // runtime cancels and arms state timeouts); staying in the same state keeps its timer.
        ...definition.targets.map((state) => ({ guard: { type: 'commitsInto', params: { state } }, target: `.${state}`, actions: 'commit' }) as const),
        // In place, stale (dropped), unknown or already committed: `protocol.commit` tells them
        // apart. Always taken, so the runtime never postpones a commit.
        { actions: 'commit' },
      ],
      abort: { actions: 'abort' },
    },
    states,
  });
}
