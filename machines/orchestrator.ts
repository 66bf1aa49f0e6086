import { assign, enqueueActions, setup } from 'xstate';
import { callTo, castTo, nextEvent, nextEventAt, putRecord, replyTo } from '../src/runtime/statem-actions.ts';
import type { CallerRef } from '../src/runtime/envelope.ts';
import { canCommit, detectConflicts, type ConflictRecord } from './conflicts.ts';
import { ROUTES, type GovernorKind, type GovernorReply, type LifecycleEvent } from './governor-protocol.ts';
import { handledRecord, handledRecordOf, outcomeOf, reusesKey, subscriptionIdOf, type HandledOutcome, type PersonalSalt } from './handled-events.ts';
import { keyReusedReason, personalFieldsOf } from '../src/marketplace/event-digest.ts';
import { newPersonalSalt } from '../src/marketplace/personal-data.ts';

/** How long the orchestrator waits for one governor's `prepare` reply. */
export const GOVERNOR_CALL_TIMEOUT_MS = 4_000;
const KEPT_CONFLICTS = 50;

export interface OrchestratorInput {
  key: string;
}

/**
 * What the orchestrator answers for a lifecycle event. An eventId it has handled before (it has
 * a record, kept forever) is a `duplicate` carrying the original outcome, and changes nothing.
 */
export type Outcome =
  | { status: 'completed'; eventId: string; replies: GovernorReply[]; conflicts: ConflictRecord[]; subscriptionId?: string }
  | { status: 'duplicate'; eventId: string; original: HandledOutcome }
  | { status: 'rejected'; eventId: string; reason: string; replies: GovernorReply[]; conflicts: ConflictRecord[] };

interface Current {
  readonly event: LifecycleEvent;
  readonly caller: CallerRef | null;
  readonly route: readonly GovernorKind[];
  readonly index: number;
  readonly replies: readonly GovernorReply[];
  readonly conflicts: readonly ConflictRecord[];
  readonly error: string | null;
}

export interface OrchestratorStats {
  processed: number;
  duplicates: number;
  rejected: number;
  conflicts: number;
  compensations: number;
  timeouts: number;
}

export interface OrchestratorContext {
  customerId: string;
  current: Current | null;
  stats: OrchestratorStats;
  /** Duplicates by event type: a duplicate is answered in Idle, and nothing else keeps its type (metrics). */
  duplicatesByType?: Record<string, number>;
  /** Governor replies that came after their event had ended (a timeout or an error ended it first). */
  staleReplies?: number;
  /** Events refused because their eventId was handled before with other content (never recorded). */
  reusedKeys?: number;
  conflicts: ConflictRecord[];
  /**
   * How the newest event that ended, ended: O(1) beside the records, for readers of the state
   * alone (the lifecycle observer's metrics), since the records are not in the snapshot.
   */
  last?: LastOutcome;
  /**
   * The salt of the personal half of its records (`personalDigest`, `handled-events.ts`): made
   * when the first event with personal fields arrives, destroyed when an erasure completes.
   */
  personalSalt?: PersonalSalt;
}

/** The outcome of the newest event that ended (see {@link OrchestratorContext.last}). */
export type LastOutcome = { readonly eventId: string; readonly status: 'completed' } | { readonly eventId: string; readonly status: 'rejected'; readonly reason: string };

export type OrchestratorEvent =
  // `receivedAt` is the producer's enqueue time, informational: records use the node's clock.
  | { type: 'lifecycle'; event: LifecycleEvent; receivedAt?: number; $from?: CallerRef }
  | { type: 'governor.reply'; reply: GovernorReply }
  | { type: 'governor.error'; error: string }
  | { type: 'timeout' }
  | { type: 'initialized' }
  | { type: 'planned' }
  | { type: 'dispatched' }
  // `$record`: the event's handled record, handed over by the runtime (`handled-events.ts`).
  // Stamped with the runtime clock's time by `nextEventAt`: when the event was committed.
  | { type: 'completed'; at: number }
  | { type: 'recover' }
  | { type: 'compensated' }
  | { type: 'resumed'; at: number };

const governorAddress = (governor: GovernorKind, customerId: string) => ({ entity: governor, key: customerId });

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

const current = (context: OrchestratorContext): Current => {
  if (!context.current) throw new Error('orchestrator: no event in progress');
  return context.current;
};

/** The event in progress with a governor's reply added, and the conflicts among its replies so far. */
function withReply(c: Current, event: OrchestratorEvent): Current {
  if (event.type !== 'governor.reply') return c;
  const replies = [...c.replies, event.reply];
  return { ...c, replies, conflicts: detectConflicts(c.event.eventId, replies) };
}

/** The time `nextEventAt` stamped on a `completed` or `resumed` event. */
const stampOf = (event: OrchestratorEvent): number => ('at' in event && typeof event.at === 'number' ? event.at : 0);

/** How many events were decided so far: the place of the next decision. */
const decided = (context: OrchestratorContext): number => context.stats.processed + context.stats.rejected;

/** Writes the record of the event in progress (committed with the step that ends it). */
const recordOutcome = (outcome: (context: OrchestratorContext, event: OrchestratorEvent) => HandledOutcome) =>
  putRecord<OrchestratorContext, OrchestratorEvent>(
    ({ context }) => current(context).event.eventId,
    // Its place in the order of decisions: how many were decided before it.
    ({ context, event }) => handledRecord(outcome(context, event), current(context).event, context.personalSalt, decided(context)),
  );

/**
 * The per-customer orchestrator (SPEC §4): one lifecycle event at a time, through
 *
 *   Initializing → Idle → ProcessingEvent → CoordinatingFsms ⇄ AwaitingFeedback → CompletingAction → Idle
 *                                     error path: ErrorDetected → ErrorRecovery → ResumeOperation → Idle
 *
 * Coordinating sends `prepare` to the next governor of the route, AwaitingFeedback waits for its
 * reply; after the last, replies are checked against each other, and the event either commits
 * everywhere or is compensated (aborted) in reverse order. A lifecycle event that arrives while
 * one is in progress is taken by no state but Idle, and the machine postpones it (`meta.postpone`
 * on the root): one customer's events are strictly serial. Anything else no state takes is a
 * crash (the runtime's default), never parked: a governor's reply that comes after its event
 * ended (the state timeout fired first) is taken by the root and counted as stale. Every state but Idle has a state timeout that leads to
 * the error path: a lost governor is a rejection, never a hang.
 *
 * Every event that ends (completed or rejected) is recorded with its outcome, its content digest
 * (`eventDigest`) and the runtime clock's time, as a keyed record under its eventId
 * (`putRecord`, `handled-events.ts`), in the same step that ends it, so the record is committed
 * with the state change — beside the state, never in it. The runtime hands an incoming event's
 * record over with it (`$record`, the kind's `recordKey`): with the same digest, the event is
 * answered `duplicate` with the original outcome and changes nothing; with another digest, the
 * key was reused for another event: it is answered `rejected` (`IDEMPOTENCY_KEY_REUSED`),
 * recorded nowhere, and changes nothing but a count. Records are never dropped, so a duplicate is
 * recognised after any time. The governors keep records of their committed events too (a second
 * line, `governor-kit.ts`).
 */
export const orchestratorMachine = setup({
  types: {} as { context: OrchestratorContext; events: OrchestratorEvent; input: OrchestratorInput },
  guards: {
    reusesKey: ({ context, event }) => event.type === 'lifecycle' && reusesKey(handledRecordOf(event), event.event, context.personalSalt),
    isHandled: ({ event }) => event.type === 'lifecycle' && handledRecordOf(event) !== undefined,
    hasNoRoute: ({ context }) => current(context).route.length === 0,
    replyRefuses: ({ event }) => event.type === 'governor.reply' && (event.reply.status === 'rejected' || event.reply.status === 'conflict'),
    moreGovernors: ({ context }) => current(context).index + 1 < current(context).route.length,
    repliesConflict: ({ context, event }) => {
      if (event.type !== 'governor.reply') return false;
      const c = current(context);
      return !canCommit(detectConflicts(c.event.eventId, [...c.replies, event.reply]));
    },
  },
  actions: {
    // A reply is recorded in the same assign as what follows from it: each assign is a clone of
    // the whole snapshot in XState (state value, tags), and this runs once per governor per event.
    recordReply: assign({ current: ({ context, event }) => withReply(current(context), event) }),
    recordReplyAndAdvance: assign({
      current: ({ context, event }) => {
        const c = withReply(current(context), event);
        return { ...c, index: c.index + 1 };
      },
    }),
    recordReplyAndFail: assign({
      current: ({ context, event }) => {
        const reply = event.type === 'governor.reply' ? event.reply : undefined;
        return { ...withReply(current(context), event), error: `${reply?.governor} ${reply?.status}: ${reply?.reason ?? 'no reason given'}` };
      },
    }),
    recordReplyAndFailWithConflicts: assign(({ context, event }) => {
      const c = withReply(current(context), event);
      const kept = [...context.conflicts, ...c.conflicts].slice(-KEPT_CONFLICTS);
      return {
        conflicts: kept,
        stats: { ...context.stats, conflicts: context.stats.conflicts + c.conflicts.length },
        current: { ...c, error: `conflict: ${c.conflicts.map((x) => `${x.kind} (${x.resolution})`).join(', ')}` },
      };
    }),
    failWithError: assign({
      current: ({ context, event }) => ({
        ...current(context),
        error: event.type === 'governor.error' ? `${current(context).route[current(context).index]} unreachable: ${event.error}` : 'error',
      }),
    }),
    noteStaleReply: assign({ staleReplies: ({ context }) => (context.staleReplies ?? 0) + 1 }),
    noteTimeout: assign(({ context }) => ({
      stats: { ...context.stats, timeouts: context.stats.timeouts + 1 },
      current: context.current ? { ...context.current, error: context.current.error ?? 'timeout' } : null,
    })),
    // Commit, in route order, every governor that answered: those that prepared a change apply
    // it; those that had nothing to do record the event as final too, so a redelivery after the
    // duplicate window gets the same answer from every governor, never a fresh decision from some.
    commitAll: enqueueActions(({ context, enqueue }) => {
      const c = current(context);
      for (const reply of c.replies) {
        if (reply.status !== 'applied' && reply.status !== 'not_applicable') continue;
        enqueue(castTo(governorAddress(reply.governor, context.customerId), { type: 'commit', eventId: c.event.eventId }));
      }
    }),
    // Compensation: drop the prepared changes in reverse order (the governors never showed them).
    abortAll: enqueueActions(({ context, enqueue }) => {
      const c = current(context);
      const prepared = c.route.slice(0, c.index + 1);
      for (const governor of [...prepared].reverse()) {
        enqueue(castTo(governorAddress(governor, context.customerId), { type: 'abort', eventId: c.event.eventId }));
      }
    }),
    appendReceipt: enqueueActions(({ context, event, enqueue }) => {
      const c = current(context);
      enqueue(
        castTo(
          { entity: 'Receipts', key: context.customerId },
          {
            type: 'append',
            eventId: c.event.eventId,
            customerId: context.customerId,
            eventType: c.event.type,
            occurredAt: c.event.occurredAt,
            // The whole event, so the receipt commits to its amounts and quantities too.
            event: c.event,
            committedAt: stampOf(event),
            outcomes: c.replies.map((r) => ({ governor: r.governor, status: r.status })),
          },
        ),
      );
    }),
  },
}).createMachine({
  id: 'orchestrator',
  context: ({ input }) => ({
    customerId: input.key,
    current: null,
    stats: { processed: 0, duplicates: 0, rejected: 0, conflicts: 0, compensations: 0, timeouts: 0 },
    conflicts: [],
  }),
  initial: 'Initializing',
  // gen_statem's postpone, declared: a lifecycle event waits for Idle, whatever the state.
  meta: { postpone: ['lifecycle'] },
  on: {
    'governor.reply': { actions: 'noteStaleReply' },
    'governor.error': { actions: 'noteStaleReply' },
  },
  states: {
    Initializing: {
      meta: { stateTimeout: { ms: 30_000, event: 'timeout' } },
      entry: nextEvent({ type: 'initialized' }),
      on: { initialized: 'Idle' },
    },
    Idle: {
      on: {
        lifecycle: [
          {
            // The nodes refuse such an event before it gets here (the kind's state check); on a
            // transport that does not, it is answered here the same way: refused, not recorded,
            // nothing changed but the count.
            guard: 'reusesKey',
            actions: [
              assign({ reusedKeys: ({ context }) => (context.reusedKeys ?? 0) + 1 }),
              replyTo(
                ({ event }) => (event.type === 'lifecycle' ? event.$from : undefined),
                ({ event }): Outcome | undefined =>
                  event.type === 'lifecycle'
                    ? { status: 'rejected', eventId: event.event.eventId, reason: keyReusedReason(event.event.eventId, event.event.customerId), replies: [], conflicts: [] }
                    : undefined,
              ),
            ],
          },
          {
            guard: 'isHandled',
            actions: [
              assign({
                stats: ({ context }) => ({ ...context.stats, duplicates: context.stats.duplicates + 1 }),
                duplicatesByType: ({ context, event }) => {
                  const type = event.type === 'lifecycle' ? event.event.type : 'unknown';
                  return { ...context.duplicatesByType, [type]: (context.duplicatesByType?.[type] ?? 0) + 1 };
                },
              }),
              replyTo(
                ({ event }) => (event.type === 'lifecycle' ? event.$from : undefined),
                ({ event }): Outcome | undefined => {
                  if (event.type !== 'lifecycle') return undefined;
                  return { status: 'duplicate', eventId: event.event.eventId, original: outcomeOf(handledRecordOf(event)!) };
                },
              ),
            ],
          },
          {
            target: 'ProcessingEvent',
            actions: assign(({ context, event }) => {
              if (event.type !== 'lifecycle') return {};
              const needsSalt = context.personalSalt === undefined && personalFieldsOf(event.event) !== undefined;
              return {
                ...(needsSalt ? { personalSalt: { salt: newPersonalSalt(), since: decided(context) } } : {}),
                current: {
                  event: event.event,
                  caller: event.$from ?? null,
                  route: ROUTES[event.event.type] ?? [],
                  index: 0,
                  replies: [],
                  conflicts: [],
                  error: null,
                },
              };
            }),
          },
        ],
      },
    },
    ProcessingEvent: {
      meta: { stateTimeout: { ms: 5_000, event: 'timeout' } },
      entry: nextEvent({ type: 'planned' }),
      on: {
        planned: [{ guard: 'hasNoRoute', target: 'CompletingAction' }, { target: 'CoordinatingFsms' }],
        timeout: { target: 'ErrorDetected', actions: 'noteTimeout' },
      },
    },
    CoordinatingFsms: {
      meta: { stateTimeout: { ms: 10_000, event: 'timeout' } },
      entry: [
        callTo(
          ({ context }) => governorAddress(current(context).route[current(context).index]!, context.customerId),
          ({ context }) => ({ type: 'prepare', event: current(context).event }),
          {
            timeout: GOVERNOR_CALL_TIMEOUT_MS,
            onReply: (reply) => ({ type: 'governor.reply', reply: reply as GovernorReply }),
            onError: (error) => ({ type: 'governor.error', error: errorText(error) }),
          },
        ),
        nextEvent({ type: 'dispatched' }),
      ],
      on: {
        dispatched: 'AwaitingFeedback',
        timeout: { target: 'ErrorDetected', actions: 'noteTimeout' },
      },
    },
    AwaitingFeedback: {
      meta: { stateTimeout: { ms: 5_000, event: 'timeout' } },
      on: {
        'governor.reply': [
          { guard: 'replyRefuses', target: 'ErrorDetected', actions: 'recordReplyAndFail' },
          { guard: 'repliesConflict', target: 'ErrorDetected', actions: 'recordReplyAndFailWithConflicts' },
          { guard: 'moreGovernors', target: 'CoordinatingFsms', actions: 'recordReplyAndAdvance' },
          { target: 'CompletingAction', actions: 'recordReply' },
        ],
        'governor.error': { target: 'ErrorDetected', actions: 'failWithError' },
        timeout: { target: 'ErrorDetected', actions: 'noteTimeout' },
      },
    },
    CompletingAction: {
      meta: { stateTimeout: { ms: 10_000, event: 'timeout' } },
      // The commits go out on entry; the runtime stamps `completed` with its clock's time, which
      // the receipt and the record carry (a pure machine has no clock of its own).
      entry: ['commitAll', nextEventAt({ type: 'completed' })],
      on: {
        completed: {
          target: 'Idle',
          actions: [
            'appendReceipt',
            replyTo(
              ({ context }) => current(context).caller,
              ({ context }): Outcome => {
                const c = current(context);
                const subscriptionId = subscriptionIdOf(c.replies);
                return { status: 'completed', eventId: c.event.eventId, replies: [...c.replies], conflicts: [...c.conflicts], ...(subscriptionId ? { subscriptionId } : {}) };
              },
            ),
            // A subscribe's outcome names the subscription it started: the id its renewals carry.
            recordOutcome((context, event) => {
              const subscriptionId = subscriptionIdOf(current(context).replies);
              return { status: 'completed', at: stampOf(event), ...(subscriptionId ? { subscriptionId } : {}) };
            }),
            // An erasure destroys the salt: the personal halves of the records made so far can
            // no longer be tested against anything.
            assign(({ context }) => ({
              ...(current(context).event.type === 'CustomerErasureRequested' ? { personalSalt: undefined } : {}),
              current: null,
              stats: { ...context.stats, processed: context.stats.processed + 1 },
              last: { eventId: current(context).event.eventId, status: 'completed' as const },
            })),
          ],
        },
        timeout: { target: 'ErrorDetected', actions: 'noteTimeout' },
      },
    },
    ErrorDetected: {
      entry: nextEvent({ type: 'recover' }),
      on: { recover: 'ErrorRecovery' },
    },
    ErrorRecovery: {
      meta: { stateTimeout: { ms: 10_000, event: 'timeout' } },
      entry: ['abortAll', nextEvent({ type: 'compensated' })],
      on: {
        compensated: {
          target: 'ResumeOperation',
          actions: assign({ stats: ({ context }) => ({ ...context.stats, compensations: context.stats.compensations + 1 }) }),
        },
        timeout: 'ResumeOperation',
      },
    },
    ResumeOperation: {
      entry: nextEventAt({ type: 'resumed' }),
      on: {
        resumed: {
          target: 'Idle',
          actions: [
            replyTo(
              ({ context }) => current(context).caller,
              ({ context }): Outcome => {
                const c = current(context);
                return {
                  status: 'rejected',
                  eventId: c.event.eventId,
                  reason: c.error ?? 'rejected',
                  replies: [...c.replies],
                  conflicts: [...c.conflicts],
                };
              },
            ),
            // A rejection is recorded too: a redelivery gets the same answer, never a fresh
            // decision that might now go the other way. Nothing was applied, so a producer that
            // wants another try sends the event again under a new eventId.
            recordOutcome((context, event) => ({ status: 'rejected', reason: current(context).error ?? 'rejected', at: stampOf(event) })),
            assign(({ context }) => ({
              current: null,
              stats: { ...context.stats, rejected: context.stats.rejected + 1 },
              last: { eventId: current(context).event.eventId, status: 'rejected' as const, reason: current(context).error ?? 'rejected' },
            })),
          ],
        },
      },
    },
  },
});
