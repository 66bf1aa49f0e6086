import { assign, emit, enqueueActions, setup, type AnyStateMachine } from 'xstate';
import { reply } from '../../src/runtime/statem-actions.ts';
import type { CallerRef } from '../../src/runtime/envelope.ts';
import { ROUTES, type GovernorKind, type GovernorReply, type LifecycleEvent, type ReplyStatus } from '../governor-protocol.ts';

/**
 * The one piece every governor shares: the two-phase protocol of `governor-protocol.ts` wrapped
 * around a pure decision, so a governor file holds only its domain (states, data, `decide`,
 * time-driven transitions).
 *
 * One `prepare`, in order:
 * 1. An event id already committed (a redelivery) gets the answer it got then, with the facts of
 *    the state as it is now; nothing changes.
 * 2. A malformed event, or one of a type not routed to this governor, is refused or answered
 *    `not_applicable` without asking the domain.
 * 3. `decide(state, data, event)` gives the outcome; an `applied` or `not_applicable` outcome is
 *    kept as `pending` (persisted with the actor, so a restart keeps it) with the version it was
 *    computed against.
 * 4. The reply carries that version and the facts of the state the change would lead to.
 *
 * `commit` (by event id, idempotent) moves to the pending state through a guarded transition
 * generated for every target state, replaces the data, bumps `version` and remembers the
 * outcome; a `not_applicable` outcome is only remembered, so every governor of a committed event
 * answers its redelivery the same way. `abort` drops the pending outcome. A time-driven transition
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
}

/** A pure decision function: the whole domain logic of a governor for lifecycle events. */
export type Decide<S extends string, D> = (state: S, data: D, event: LifecycleEvent, customerId: string) => Decision<S, D>;

/** A long wait: after `ms` in the state (a runtime state timeout, persisted), move to `to`. */
export interface TimeoutRule<S extends string, D> {
  readonly ms: number;
  readonly to: S;
  /** How the data changes when the time is up. @default unchanged */
  readonly update?: (data: D) => D;
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
   * allowed): a commit transition is generated for each. States reached only by time are not in
   * it, so no transition exists that nothing can take.
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
  readonly next: { readonly state: S; readonly data: D } | null;
}

/** A committed event and the reply it got (applied or not applicable), for redeliveries. */
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
  readonly pending: PendingChange<S, D> | null;
  /** The last {@link COMMITTED_KEPT} committed events, oldest first. */
  readonly committed: readonly CommittedOutcome[];
}

/**
 * @default 256 committed event ids per governor and customer: a redelivery within them gets the
 * same reply; older ones are caught by each domain's own keys (payment ids, usage keys, cycles).
 */
export const COMMITTED_KEPT = 256;

export type GovernorEvent =
  | { type: 'prepare'; event: LifecycleEvent; $from?: CallerRef }
  | { type: 'commit'; eventId: string }
  | { type: 'abort'; eventId: string }
  | { type: 'timeout' }
  | { type: 'inspect'; $from?: CallerRef };

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

/** Epoch milliseconds of an event's `occurredAt`: decisions use the producer's time, never a clock. */
export function eventTime(event: LifecycleEvent): number {
  return Date.parse(event.occurredAt);
}

/** Checks the envelope fields every lifecycle event has; returns a problem or `undefined`. */
function malformed(event: unknown): string | undefined {
  if (typeof event !== 'object' || event === null) return 'the event is not an object';
  const e = event as Record<string, unknown>;
  for (const field of ['eventId', 'customerId', 'occurredAt', 'type']) {
    if (typeof e[field] !== 'string' || (e[field] as string).length === 0) return `${field} must be a non-empty string`;
  }
  if (Number.isNaN(Date.parse(e.occurredAt as string))) return `occurredAt "${String(e.occurredAt)}" is not an ISO 8601 time`;
  return undefined;
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
    const decision = definition.decide(context.state, context.data, event, context.customerId);
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
  | { kind: 'apply'; next: { state: S; data: D }; reply: GovernorReply }
  | { kind: 'record'; reply: GovernorReply }
  | { kind: 'drop' }
  | { kind: 'none' };

export function resolveCommit<S extends string, D>(
  definition: GovernorDefinition<S, D>,
  context: GovernorContext<S, D>,
  eventId: string,
): CommitResolution<S, D> {
  const pending = context.pending;
  if (!pending || pending.eventId !== eventId) return { kind: 'none' };
  if (pending.basedOn === context.version) {
    return pending.next ? { kind: 'apply', next: pending.next, reply: pending.reply } : { kind: 'record', reply: pending.reply };
  }
  // A timer changed the state since the prepare: decide again on the state as it is now.
  const decision = decideEvent(definition, context, pending.event);
  const reply = replyFor(definition, context, decision);
  if (decision.status === 'applied' && decision.next) return { kind: 'apply', next: decision.next, reply };
  return decision.status === 'not_applicable' ? { kind: 'record', reply } : { kind: 'drop' };
}

/** A governor's context after the transitions of the protocol; pure, shared with reference models. */
export const protocol = {
  initial<S extends string, D>(definition: GovernorDefinition<S, D>, customerId: string): GovernorContext<S, D> {
    return { customerId, state: definition.initial, version: 0, data: definition.init(customerId), pending: null, committed: [] };
  },

  /** The reply to a `prepare` and the context after it. */
  prepare<S extends string, D>(
    definition: GovernorDefinition<S, D>,
    context: GovernorContext<S, D>,
    event: LifecycleEvent,
  ): { reply: GovernorReply; context: GovernorContext<S, D> } {
    const eventId = typeof event?.eventId === 'string' ? event.eventId : undefined;
    const seen = eventId === undefined ? undefined : context.committed.find((c) => c.eventId === eventId);
    if (seen) {
      // The same answer, with the facts of the state as it is now: the orchestrator checks facts
      // against the other governors' current ones, and stale facts would hide a conflict.
      const facts = definition.facts?.(context.state, context.data);
      const { facts: _old, ...answer } = seen.reply;
      return { reply: { ...answer, version: context.version, ...(facts && Object.keys(facts).length > 0 ? { facts } : {}) }, context };
    }
    const decision = decideEvent(definition, context, event);
    const reply = replyFor(definition, context, decision);
    const pending: PendingChange<S, D> | null =
      eventId === undefined || decision.status === 'rejected' || decision.status === 'conflict'
        ? null
        : { eventId, event, basedOn: context.version, reply, next: decision.status === 'applied' && decision.next ? decision.next : null };
    // A pending change of another event is stale (the orchestrator is serial per customer and
    // has moved on without a commit or an abort reaching us): drop it.
    return { reply, context: { ...context, pending } };
  },

  commit<S extends string, D>(definition: GovernorDefinition<S, D>, context: GovernorContext<S, D>, eventId: string): GovernorContext<S, D> {
    const resolution = resolveCommit(definition, context, eventId);
    if (resolution.kind === 'none') return context;
    if (resolution.kind === 'drop') return { ...context, pending: null };
    if (resolution.kind === 'record') return { ...context, pending: null, committed: remember(context.committed, eventId, resolution.reply) };
    return applyCommit(context, eventId, resolution.next, resolution.reply);
  },

  abort<S extends string, D>(context: GovernorContext<S, D>, eventId: string): GovernorContext<S, D> {
    return context.pending?.eventId === eventId ? { ...context, pending: null } : context;
  },

  /** The state timeout of the current state firing. */
  timeout<S extends string, D>(definition: GovernorDefinition<S, D>, context: GovernorContext<S, D>): GovernorContext<S, D> {
    const rule = definition.timeouts?.[context.state];
    if (!rule) return context;
    return { ...context, state: rule.to, data: rule.update ? rule.update(context.data) : context.data, version: context.version + 1 };
  },
};

function applyCommit<S extends string, D>(
  context: GovernorContext<S, D>,
  eventId: string,
  next: { state: S; data: D },
  reply: GovernorReply,
): GovernorContext<S, D> {
  return {
    ...context,
    state: next.state,
    data: next.data,
    version: context.version + 1,
    pending: null,
    committed: remember(context.committed, eventId, reply),
  };
}

function remember(committed: readonly CommittedOutcome[], eventId: string, reply: GovernorReply): CommittedOutcome[] {
  // Until the list is full, one exact-size copy per commit, not a copy and then a slice of it.
  const outcome = { eventId, reply };
  return committed.length < COMMITTED_KEPT ? [...committed, outcome] : [...committed.slice(committed.length + 1 - COMMITTED_KEPT), outcome];
}

/**
 * Builds a governor's XState machine from its definition. The machine is pure (replies are the
 * runtime's `reply` action; time is the runtime's state timeouts declared in `meta`), so
 * `xstate/graph` can traverse it and tests can step it without a runtime.
 *
 * @example
 * export const billingMachine = defineGovernor({ kind: 'Billing', states, initial, init, decide, timeouts, facts });
 */
export function defineGovernor<S extends string, D>(definition: GovernorDefinition<S, D>): AnyStateMachine {
  type C = GovernorContext<S, D>;
  const eventIdOf = (event: GovernorEvent) => (event.type === 'commit' || event.type === 'abort' ? event.eventId : '');
  const resolution = (context: C, event: GovernorEvent) => resolveCommit(definition, context, eventIdOf(event));

  const commitTransition = {
    actions: assign(({ context, event }: { context: C; event: GovernorEvent }) => protocol.commit(definition, context, eventIdOf(event))),
  };
  const states: Record<string, unknown> = {};
  for (const state of definition.states) {
    const rule = definition.timeouts?.[state];
    const announce = definition.announce?.[state];
    states[state] = {
      ...(announce ? { entry: emit(({ context }: { context: C }) => announce(context.data)) } : {}),
      ...(rule
        ? {
            meta: { stateTimeout: { ms: rule.ms, event: { type: 'timeout' } } },
            on: {
              timeout: {
                target: `#${definition.kind}.${rule.to}`,
                actions: assign(({ context }: { context: C }) => protocol.timeout(definition, context)),
              },
            },
          }
        : {}),
    };
  }

  const queries = { ...definition.queries };
  const queryHandlers: Record<string, unknown> = {
    inspect: {
      actions: reply(({ context }: { context: C }) => ({
        governor: definition.kind,
        state: context.state,
        version: context.version,
        data: context.data,
        pending: context.pending?.eventId ?? null,
      })),
    },
  };
  for (const [name, answer] of Object.entries(queries)) {
    queryHandlers[name] = {
      actions: reply(({ context, event }: { context: C; event: Record<string, unknown> }) => {
        // A query with bad arguments is the caller's problem: answer it, never crash on it.
        try {
          return answer({ customerId: context.customerId, state: context.state, version: context.version, data: context.data }, event);
        } catch (error) {
          return { error: error instanceof Error ? error.message : String(error) };
        }
      }),
    };
  }

  return setup({
    types: {} as { context: C; events: GovernorEvent; input: { key: string } },
  }).createMachine({
    id: definition.kind,
    initial: definition.initial,
    // Postpones nothing: every protocol message is answered in any state, and anything else is
    // a crash (the runtime's default), so a stray message is dead-lettered with its type.
    meta: { postpone: [] },
    context: ({ input }) => protocol.initial(definition, input.key),
    on: {
      ...queryHandlers,
      prepare: {
        actions: enqueueActions(({ context, event, enqueue }) => {
          const e = event as GovernorEvent;
          if (e.type !== 'prepare') return;
          const { reply: answer, context: next } = protocol.prepare(definition, context as C, e.event);
          if (next !== context) enqueue.assign(next);
          enqueue(reply(() => answer));
        }),
      },
      commit: [
        // One guarded transition per target state, so the state node really changes (and the
        // runtime cancels and arms state timeouts); staying in the same state keeps its timer.
        ...definition.targets.map((state) => ({
          guard: ({ context, event }: { context: C; event: GovernorEvent }) => {
            const r = resolution(context, event);
            return r.kind === 'apply' && r.next.state === state && context.state !== state;
          },
          target: `.${state}`,
          ...commitTransition,
        })),
        // In place, stale (dropped), unknown or already committed: `protocol.commit` tells them
        // apart. Always taken, so the runtime never postpones a commit.
        commitTransition,
      ],
      abort: {
        actions: assign(({ context, event }: { context: C; event: GovernorEvent }) => protocol.abort(context, eventIdOf(event))),
      },
    } as never,
    states: states as never,
  }) as unknown as AnyStateMachine;
}
