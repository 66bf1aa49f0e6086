import { assign, enqueueActions, setup } from 'xstate';
import { callTo, castTo, nextEvent, replyTo } from '../src/runtime/statem-actions.ts';
import type { CallerRef } from '../src/runtime/envelope.ts';
import { canCommit, detectConflicts, type ConflictRecord } from './conflicts.ts';
import { ROUTES, type GovernorKind, type GovernorReply, type LifecycleEvent } from './governor-protocol.ts';

/** @default 5 minutes: a repeated eventId within it is reported as a duplicate. */
export const DEFAULT_DEDUP_WINDOW_MS = 5 * 60_000;
/** How long the orchestrator waits for one governor's `prepare` reply. */
export const GOVERNOR_CALL_TIMEOUT_MS = 4_000;
const KEPT_CONFLICTS = 50;

export interface OrchestratorInput {
  key: string;
  dedupWindowMs?: number;
}

/** What the orchestrator answers for a lifecycle event. */
export type Outcome =
  | { status: 'completed'; eventId: string; replies: GovernorReply[]; conflicts: ConflictRecord[] }
  | { status: 'duplicate'; eventId: string }
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
  dedupWindowMs: number;
  /** eventId → when it arrived, for the duplicate window. */
  recent: Record<string, number>;
  current: Current | null;
  stats: OrchestratorStats;
  conflicts: ConflictRecord[];
}

export type OrchestratorEvent =
  | { type: 'lifecycle'; event: LifecycleEvent; receivedAt: number; $from?: CallerRef }
  | { type: 'governor.reply'; reply: GovernorReply }
  | { type: 'governor.error'; error: string }
  | { type: 'timeout' }
  | { type: 'initialized' }
  | { type: 'planned' }
  | { type: 'dispatched' }
  | { type: 'completed' }
  | { type: 'recover' }
  | { type: 'compensated' }
  | { type: 'resumed' };

const governorAddress = (governor: GovernorKind, customerId: string) => ({ entity: governor, key: customerId });

function errorText(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

const current = (context: OrchestratorContext): Current => {
  if (!context.current) throw new Error('orchestrator: no event in progress');
  return context.current;
};

/**
 * The per-customer orchestrator (SPEC §4): one lifecycle event at a time, through
 *
 *   Initializing → Idle → ProcessingEvent → CoordinatingFsms ⇄ AwaitingFeedback → CompletingAction → Idle
 *                                     error path: ErrorDetected → ErrorRecovery → ResumeOperation → Idle
 *
 * Coordinating sends `prepare` to the next governor of the route, AwaitingFeedback waits for its
 * reply; after the last, replies are checked against each other, and the event either commits
 * everywhere or is compensated (aborted) in reverse order. A lifecycle event that arrives while
 * one is in progress is not taken by any state but Idle, so the runtime postpones it: one
 * customer's events are strictly serial. Every state but Idle has a state timeout that leads to
 * the error path: a lost governor is a rejection, never a hang.
 */
export const orchestratorMachine = setup({
  types: {} as { context: OrchestratorContext; events: OrchestratorEvent; input: OrchestratorInput },
  guards: {
    isDuplicate: ({ context, event }) => {
      if (event.type !== 'lifecycle') return false;
      const seen = context.recent[event.event.eventId];
      return seen !== undefined && event.receivedAt - seen < context.dedupWindowMs;
    },
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
    recordReply: assign({
      current: ({ context, event }) => {
        const c = current(context);
        if (event.type !== 'governor.reply') return c;
        const replies = [...c.replies, event.reply];
        return { ...c, replies, conflicts: detectConflicts(c.event.eventId, replies) };
      },
    }),
    advance: assign({ current: ({ context }) => ({ ...current(context), index: current(context).index + 1 }) }),
    failWithReply: assign({
      current: ({ context, event }) => {
        const reply = event.type === 'governor.reply' ? event.reply : undefined;
        return { ...current(context), error: `${reply?.governor} ${reply?.status}: ${reply?.reason ?? 'no reason given'}` };
      },
    }),
    failWithConflicts: assign(({ context }) => {
      const c = current(context);
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
    appendReceipt: enqueueActions(({ context, enqueue }) => {
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
    dedupWindowMs: input.dedupWindowMs ?? DEFAULT_DEDUP_WINDOW_MS,
    recent: {},
    current: null,
    stats: { processed: 0, duplicates: 0, rejected: 0, conflicts: 0, compensations: 0, timeouts: 0 },
    conflicts: [],
  }),
  initial: 'Initializing',
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
            guard: 'isDuplicate',
            actions: [
              assign({ stats: ({ context }) => ({ ...context.stats, duplicates: context.stats.duplicates + 1 }) }),
              replyTo(
                ({ event }) => (event.type === 'lifecycle' ? event.$from : undefined),
                ({ event }) => ({ status: 'duplicate', eventId: event.type === 'lifecycle' ? event.event.eventId : '' }),
              ),
            ],
          },
          {
            target: 'ProcessingEvent',
            actions: assign(({ context, event }) => {
              if (event.type !== 'lifecycle') return {};
              // Forget arrivals older than the window: the context stays bounded.
              const recent: Record<string, number> = {};
              for (const [id, at] of Object.entries(context.recent)) {
                if (event.receivedAt - at < context.dedupWindowMs) recent[id] = at;
              }
              recent[event.event.eventId] = event.receivedAt;
              return {
                recent,
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
          { guard: 'replyRefuses', target: 'ErrorDetected', actions: ['recordReply', 'failWithReply'] },
          { guard: 'repliesConflict', target: 'ErrorDetected', actions: ['recordReply', 'failWithConflicts'] },
          { guard: 'moreGovernors', target: 'CoordinatingFsms', actions: ['recordReply', 'advance'] },
          { target: 'CompletingAction', actions: 'recordReply' },
        ],
        'governor.error': { target: 'ErrorDetected', actions: 'failWithError' },
        timeout: { target: 'ErrorDetected', actions: 'noteTimeout' },
      },
    },
    CompletingAction: {
      meta: { stateTimeout: { ms: 10_000, event: 'timeout' } },
      entry: [
        'commitAll',
        'appendReceipt',
        replyTo(
          ({ context }) => current(context).caller,
          ({ context }): Outcome => {
            const c = current(context);
            return { status: 'completed', eventId: c.event.eventId, replies: [...c.replies], conflicts: [...c.conflicts] };
          },
        ),
        nextEvent({ type: 'completed' }),
      ],
      on: {
        completed: {
          target: 'Idle',
          actions: assign({
            current: null,
            stats: ({ context }) => ({ ...context.stats, processed: context.stats.processed + 1 }),
          }),
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
      entry: [
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
        nextEvent({ type: 'resumed' }),
      ],
      on: {
        resumed: {
          target: 'Idle',
          actions: assign({
            current: null,
            stats: ({ context }) => ({ ...context.stats, rejected: context.stats.rejected + 1 }),
          }),
        },
      },
    },
  },
});
