import { assign, enqueueActions, setup } from 'xstate';
import { callTo, castTo, nextEventAt, putRecord, replyTo, stateTimeout } from '../src/runtime/statem-actions.ts';
import type { CallerRef } from '../src/runtime/envelope.ts';
import type { ConflictRecord } from './conflicts.ts';
import { allAnswered, foldAnswers, toAsk, type Answer, type Fold } from './fan-out.ts';
import { GOVERNORS, ROUTES, type GovernorKind, type GovernorReply, type LifecycleEvent } from './governor-protocol.ts';
import { handledRecord, handledRecordOf, outcomeOf, reusesKey, subscriptionIdOf, type HandledOutcome, type PersonalSalt } from './handled-events.ts';
import { keyReusedReason, personalFieldsOf } from '../src/marketplace/event-digest.ts';
import { newPersonalSalt } from '../src/marketplace/personal-data.ts';

/** How long the orchestrator waits for one governor's `prepare` reply (the call's own timeout). */
export const GOVERNOR_CALL_TIMEOUT_MS = 4_000;
/**
 * AwaitingFeedback's state timeout: the deadline of one round of `prepare`s, armed again when a
 * round asks more governors. Longer than a call's timeout, so a silent governor is normally
 * reported by name (`unreachable`) and this fires only when answers themselves are lost.
 */
export const FEEDBACK_DEADLINE_MS = 5_000;
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

/** The event in progress. */
interface Current {
  readonly event: LifecycleEvent;
  readonly caller: CallerRef | null;
  readonly route: readonly GovernorKind[];
  /** The governors sent `prepare` so far (a state persisted before fan-out has none: {@link inFlight}). */
  readonly asked?: readonly GovernorKind[];
  /** Their answers, in the order they came. */
  readonly answers?: readonly Answer[];
  /** The replies and conflicts of the answers walked in route order (`foldAnswers`): what the outcome reports. */
  readonly replies: readonly GovernorReply[];
  readonly conflicts: readonly ConflictRecord[];
  readonly error: string | null;
  /** Where a state persisted before fan-out was in its one-by-one walk. */
  readonly index?: number;
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
   * The governors this customer's orchestrator has sent a `prepare` to, in GOVERNORS order: their
   * actors exist, so asking them again creates nothing (`fan-out.ts`). Absent: none yet, or a
   * state persisted before fan-out, whose first events then go in route order again.
   */
  met?: GovernorKind[];
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
  // A governor's answer to `prepare`, tagged by the call with the event and the governor asked
  // (absent on answers sent before fan-out: those are stale by now).
  | { type: 'governor.reply'; reply: GovernorReply; eventId?: string; governor?: GovernorKind }
  | { type: 'governor.error'; error: string; eventId?: string; governor?: GovernorKind }
  | { type: 'timeout' }
  // The event decided, stamped by `nextEventAt` with the runtime clock's time: when it was
  // committed (`completed`) or compensated (`resumed`), which its record and receipt carry.
  // `$record`: an incoming event's handled record, handed over by the runtime (`handled-events.ts`).
  | { type: 'completed'; at: number }
  | { type: 'resumed'; at: number };

const governorAddress = (governor: GovernorKind, customerId: string) => ({ entity: governor, key: customerId });

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

const current = (context: OrchestratorContext): Current => {
  if (!context.current) throw new Error('orchestrator: no event in progress');
  return context.current;
};

/**
 * Who was asked and what they answered; a state persisted before fan-out (asked one by one up to
 * `index`, its replies so far) is read the same way.
 */
function inFlight(c: Current): { asked: readonly GovernorKind[]; answers: readonly Answer[] } {
  return {
    asked: askedGovernors(c),
    answers: c.answers ?? c.replies.map((reply) => ({ governor: reply.governor, reply })),
  };
}

/**
 * The governors an event has asked so far: those its rejection aborts. A state persisted before
 * fan-out had asked the route up to `index`.
 */
export const askedGovernors = (c: Pick<Current, 'route' | 'asked' | 'index'>): readonly GovernorKind[] => c.asked ?? c.route.slice(0, (c.index ?? 0) + 1);

/** The answer an event brings, when it is one the event in progress waits for. */
function answerOf(context: OrchestratorContext, event: OrchestratorEvent): Answer | undefined {
  if (event.type !== 'governor.reply' && event.type !== 'governor.error') return undefined;
  const c = context.current;
  if (!c || event.eventId !== c.event.eventId || event.governor === undefined) return undefined;
  const governor = event.governor;
  const { asked, answers } = inFlight(c);
  if (!asked.includes(governor) || answers.some((a) => a.governor === governor)) return undefined;
  return event.type === 'governor.reply' ? { governor, reply: event.reply } : { governor, error: event.error };
}

/**
 * One answer taken, in order: (1) add it; (2) walk all answers in route order; (3) decided
 * (committed, or rejected with every governor asked answered: none is left to reply late) or not;
 * (4) if not, whom to ask now.
 */
function afterAnswer(c: Current, answer: Answer, met: readonly GovernorKind[]): { current: Current; fold: Fold; decided: boolean; ask: GovernorKind[] } {
  const { asked, answers: before } = inFlight(c);
  const answers = [...before, answer];
  const fold = foldAnswers(c.event.eventId, c.route, answers);
  const decided = fold.kind === 'commit' || (fold.kind === 'reject' && allAnswered(asked, answers));
  const ask = toAsk(c.route, met, asked, fold);
  const next: Current = {
    ...c,
    asked: [...asked, ...ask],
    answers,
    replies: fold.replies,
    conflicts: fold.conflicts,
    error: fold.kind === 'reject' ? fold.reason : null,
  };
  return { current: next, fold, decided, ask };
}

/** `met` with `governors` added, in GOVERNORS order. */
const meeting = (met: readonly GovernorKind[] | undefined, governors: readonly GovernorKind[]): GovernorKind[] | undefined =>
  governors.every((g) => met?.includes(g)) ? met && [...met] : GOVERNORS.filter((g) => met?.includes(g) || governors.includes(g));

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

/** `prepare` to each of `governors`, their answers tagged with the event and the governor. */
const prepareCalls = (customerId: string, event: LifecycleEvent, governors: readonly GovernorKind[]) =>
  governors.map((governor) =>
    callTo<OrchestratorContext, OrchestratorEvent>(governorAddress(governor, customerId), { type: 'prepare', event }, {
      timeout: GOVERNOR_CALL_TIMEOUT_MS,
      onReply: (reply) => ({ type: 'governor.reply', eventId: event.eventId, governor, reply: reply as GovernorReply }),
      onError: (error) => ({ type: 'governor.error', eventId: event.eventId, governor, error: errorText(error) }),
    }),
  );

/**
 * Commit every governor that answered, all at once: those that prepared a change apply it; those
 * that had nothing to do record the event as final too, so a redelivery after the duplicate
 * window gets the same answer from every governor, never a fresh decision from some.
 */
const commits = (customerId: string, c: Current) =>
  c.replies
    .filter((reply) => reply.status === 'applied' || reply.status === 'not_applicable')
    .map((reply) => castTo<OrchestratorContext, OrchestratorEvent>(governorAddress(reply.governor, customerId), { type: 'commit', eventId: c.event.eventId }));

/**
 * Compensation: drop the prepared changes of every governor asked, in reverse route order (none
 * showed them). A governor that refused kept nothing to drop (a refusal is never pending), so it
 * is not told; one that has not answered may still prepare, so it is.
 */
const aborts = (customerId: string, c: Current) => {
  const { asked, answers } = inFlight(c);
  const refused = (governor: GovernorKind) =>
    answers.some((a) => a.governor === governor && 'reply' in a && (a.reply.status === 'rejected' || a.reply.status === 'conflict'));
  return [...c.route]
    .reverse()
    .filter((governor) => asked.includes(governor) && !refused(governor))
    .map((governor) => castTo<OrchestratorContext, OrchestratorEvent>(governorAddress(governor, customerId), { type: 'abort', eventId: c.event.eventId }));
};

/** A rejection that is a blocking conflict: counted, and its conflicts kept (the newest {@link KEPT_CONFLICTS}). */
const conflictsNoted = (context: OrchestratorContext, fold: Fold) =>
  fold.kind === 'reject' && fold.conflicted
    ? { conflicts: [...context.conflicts, ...fold.conflicts].slice(-KEPT_CONFLICTS), stats: { ...context.stats, conflicts: context.stats.conflicts + fold.conflicts.length } }
    : {};

/**
 * AwaitingFeedback's state timeout, armed by the step that asks a round (a state timeout set by an
 * action: gone when the state is left). An action rather than the state's `meta`, because a new
 * round re-arms it without leaving the state.
 */
const roundDeadline = stateTimeout<OrchestratorContext, OrchestratorEvent>(FEEDBACK_DEADLINE_MS, { type: 'timeout' });

/**
 * The per-customer orchestrator (SPEC §4, as issue 16 amended it): one lifecycle event at a time,
 * in two states, each a real wait:
 *
 *   Idle ──lifecycle──▶ AwaitingFeedback ──all answered──▶ (commit or abort, stamped) ──▶ Idle
 *
 * Idle waits for a lifecycle event. AwaitingFeedback waits for the governors' answers to
 * `prepare`, sent to all the event's governors at once (`fan-out.ts`: route order only where a
 * governor would be created), under one deadline per round ({@link FEEDBACK_DEADLINE_MS}). The
 * answers are walked in route order: the event commits everywhere at once, or is compensated
 * (aborted) everywhere at once. `commit` and `abort` are casts the governors do not acknowledge, so
 * nothing is left to wait for: the former CompletingAction, ErrorDetected, ErrorRecovery and
 * ResumeOperation are the step that decides, and Initializing, ProcessingEvent and
 * CoordinatingFsms the step that starts an event. That step's `nextEventAt` stamp (`completed` or
 * `resumed`, with the runtime clock's time) ends the event and returns to Idle.
 *
 * A lifecycle event that arrives while one is in progress is taken by no state but Idle, and the
 * machine postpones it (`meta.postpone` on the root): one customer's events are strictly serial.
 * Anything else no state takes is a crash (the runtime's default), never parked: a governor's
 * answer that is not one the event in progress waits for (its event ended: the deadline fired
 * first) is taken by the root and counted as stale. A lost governor is a rejection, never a hang.
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
    hasNoRoute: ({ event }) => event.type === 'lifecycle' && (ROUTES[event.event.type] ?? []).length === 0,
    inProgress: ({ context }) => context.current !== null,
    awaited: ({ context, event }) => answerOf(context, event) !== undefined,
  },
  actions: {
    // Starts an event: its route, and `prepare` to every governor that may be asked now.
    start: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'lifecycle') return;
      const route = ROUTES[event.event.type] ?? [];
      const fresh: Current = { event: event.event, caller: event.$from ?? null, route, asked: [], answers: [], replies: [], conflicts: [], error: null };
      const ask = toAsk(route, context.met ?? [], [], foldAnswers(event.event.eventId, route, []));
      const needsSalt = context.personalSalt === undefined && personalFieldsOf(event.event) !== undefined;
      enqueue.assign({
        ...(needsSalt ? { personalSalt: { salt: newPersonalSalt(), since: decided(context) } } : {}),
        ...(ask.length > 0 ? { met: meeting(context.met, ask) } : {}),
        current: { ...fresh, asked: ask },
      });
      for (const call of prepareCalls(context.customerId, event.event, ask)) enqueue(call);
      // No governor to ask: decided at once (committed with nothing to commit).
      if (route.length === 0) enqueue(nextEventAt({ type: 'completed' }));
      else enqueue(roundDeadline);
    }),
    // One answer taken (`afterAnswer`), in one assign: each assign clones the snapshot in XState,
    // and this runs once per governor per event. Decided, the commits or the aborts go out at
    // once, and the stamp that ends the event is next.
    takeAnswer: enqueueActions(({ context, event, enqueue }) => {
      const answer = answerOf(context, event);
      if (!answer) return;
      const { current: next, fold, decided: done, ask } = afterAnswer(current(context), answer, context.met ?? []);
      enqueue.assign({ current: next, ...(ask.length > 0 ? { met: meeting(context.met, ask) } : {}), ...(done ? conflictsNoted(context, fold) : {}) });
      for (const call of prepareCalls(context.customerId, next.event, ask)) enqueue(call);
      if (ask.length > 0) enqueue(roundDeadline);
      if (!done) return;
      if (fold.kind === 'commit') {
        for (const cast of commits(context.customerId, next)) enqueue(cast);
        enqueue(nextEventAt({ type: 'completed' }));
      } else {
        for (const cast of aborts(context.customerId, next)) enqueue(cast);
        enqueue(nextEventAt({ type: 'resumed' }));
      }
    }),
    // The deadline: whatever the answers so far say, the event is rejected (no answer from the
    // governor the walk stopped at: `timeout`) and everyone asked is told to abort.
    giveUp: enqueueActions(({ context, enqueue }) => {
      const c = current(context);
      const fold = foldAnswers(c.event.eventId, c.route, inFlight(c).answers);
      const reason = fold.kind === 'reject' ? fold.reason : (c.error ?? 'timeout');
      const next: Current = { ...c, replies: fold.replies, conflicts: fold.conflicts, error: reason };
      const noted = conflictsNoted(context, fold);
      enqueue.assign({ current: next, ...noted, stats: { ...(noted.stats ?? context.stats), timeouts: context.stats.timeouts + 1 } });
      for (const cast of aborts(context.customerId, next)) enqueue(cast);
      enqueue(nextEventAt({ type: 'resumed' }));
    }),
    noteStaleReply: assign({ staleReplies: ({ context }) => (context.staleReplies ?? 0) + 1 }),
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
  initial: 'Idle',
  // gen_statem's postpone, declared: a lifecycle event waits for Idle, whatever the state.
  meta: { postpone: ['lifecycle'] },
  on: {
    'governor.reply': { actions: 'noteStaleReply' },
    'governor.error': { actions: 'noteStaleReply' },
    // The stamp of a decided event ends it, from either state (an event with no governor is
    // decided in Idle): receipt, answer, record and counts in the one step.
    completed: {
      guard: 'inProgress',
      target: '.Idle',
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
    resumed: {
      guard: 'inProgress',
      target: '.Idle',
      actions: [
        replyTo(
          ({ context }) => current(context).caller,
          ({ context }): Outcome => {
            const c = current(context);
            return { status: 'rejected', eventId: c.event.eventId, reason: c.error ?? 'rejected', replies: [...c.replies], conflicts: [...c.conflicts] };
          },
        ),
        // A rejection is recorded too: a redelivery gets the same answer, never a fresh
        // decision that might now go the other way. Nothing was applied, so a producer that
        // wants another try sends the event again under a new eventId.
        recordOutcome((context, event) => ({ status: 'rejected', reason: current(context).error ?? 'rejected', at: stampOf(event) })),
        assign(({ context }) => ({
          current: null,
          stats: { ...context.stats, rejected: context.stats.rejected + 1, compensations: context.stats.compensations + 1 },
          last: { eventId: current(context).event.eventId, status: 'rejected' as const, reason: current(context).error ?? 'rejected' },
        })),
      ],
    },
  },
  states: {
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
          // Nothing to wait for: decided here, ended by the stamp that comes next.
          { guard: 'hasNoRoute', actions: 'start' },
          { target: 'AwaitingFeedback', actions: 'start' },
        ],
      },
    },
    AwaitingFeedback: {
      // Its state timeout is armed by the actions that ask (`roundDeadline`), once per round.
      on: {
        'governor.reply': { guard: 'awaited', actions: 'takeAnswer' },
        'governor.error': { guard: 'awaited', actions: 'takeAnswer' },
        timeout: { actions: 'giveUp' },
      },
    },
  },
});
