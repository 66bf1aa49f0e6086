import { emit, type EventObject, type MachineContext } from 'xstate';
import type { Address } from './envelope.ts';
import type { ExitReason } from './exit-reason.ts';

/**
 * gen_statem's actions, as XState actions. Each one is XState's own `emit` of a reserved
 * `governor.*` event, so a machine that uses them stays a pure XState machine: `xstate/graph`
 * traverses it and fast-check runs it without a runtime, while under Governor the runtime turns
 * each emitted event into the effect (a reply, a postpone, a timer, a message).
 *
 * Arguments may be values or functions of `{ context, event }`, like XState's own actions.
 */
type Expr<T, C extends MachineContext, E extends EventObject> = T | ((args: { context: C; event: E }) => T);

/** An event an actor sends: any object with a string `type`. */
type OutEvent = { type: string; [key: string]: unknown };

/**
 * A value, or a function of `{ context, event }` giving it. Spelled out (not `Expr<unknown>`,
 * which collapses to `unknown`) so that arrow functions get their argument types.
 */
type ValueExpr<C extends MachineContext, E extends EventObject> =
  | string
  | number
  | boolean
  | null
  | undefined
  | readonly unknown[]
  | { readonly [key: string]: unknown }
  | ((args: { context: C; event: E }) => unknown);

function resolve<T, C extends MachineContext, E extends EventObject>(value: Expr<T, C, E>, args: { context: C; event: E }): T {
  return typeof value === 'function' ? (value as (a: { context: C; event: E }) => T)(args) : value;
}

// Defined with the messages (a reserved type no message may use); an actor action's name here.
export { TERMINATE_EVENT } from './envelope.ts';

/** The reserved event types; any other emitted event is the machine's own (visible in traces). */
export const EFFECT = {
  reply: 'governor.reply',
  replyTo: 'governor.reply_to',
  postpone: 'governor.postpone',
  nextEvent: 'governor.next_event',
  startTimer: 'governor.start_timer',
  cancelTimer: 'governor.cancel_timer',
  updateTimer: 'governor.update_timer',
  eventTimeout: 'governor.event_timeout',
  stateTimeout: 'governor.state_timeout',
  cancelStateTimeout: 'governor.cancel_state_timeout',
  updateStateTimeout: 'governor.update_state_timeout',
  cast: 'governor.cast',
  send: 'governor.send',
  call: 'governor.call',
  stop: 'governor.stop',
  hibernate: 'governor.hibernate',
  journal: 'governor.journal',
  record: 'governor.record',
} as const;

export type Effect =
  | { type: typeof EFFECT.reply; value: unknown }
  | { type: typeof EFFECT.replyTo; to: unknown; value: unknown }
  | { type: typeof EFFECT.postpone }
  | { type: typeof EFFECT.nextEvent; event: OutEvent; stampAt?: true }
  | { type: typeof EFFECT.startTimer; name: string; ms: number; event: OutEvent; abs?: boolean }
  | { type: typeof EFFECT.cancelTimer; name: string }
  | { type: typeof EFFECT.updateTimer; name: string; event: OutEvent }
  | { type: typeof EFFECT.eventTimeout; ms: number; event: OutEvent; abs?: boolean }
  | { type: typeof EFFECT.stateTimeout; ms: number; event: OutEvent; abs?: boolean }
  | { type: typeof EFFECT.cancelStateTimeout }
  | { type: typeof EFFECT.updateStateTimeout; event: OutEvent }
  | { type: typeof EFFECT.cast | typeof EFFECT.send; to: Address; event: OutEvent }
  | {
      type: typeof EFFECT.call;
      to: Address;
      event: OutEvent;
      timeout: number;
      onReply: (value: unknown) => OutEvent;
      onError: (error: unknown) => OutEvent;
    }
  | { type: typeof EFFECT.stop; reason: ExitReason }
  | { type: typeof EFFECT.hibernate }
  | { type: typeof EFFECT.journal; entries: readonly unknown[] }
  | { type: typeof EFFECT.record; key: string; value: unknown };

/** Replies to the call being handled (`{reply, From, Value}`). Ignored when the event was not a call. */
export function reply<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(value: ValueExpr<C, E>) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({ type: EFFECT.reply, value: resolve(value, args) }));
}

/**
 * Replies to a caller kept from earlier: a call's event carries `$from` (its caller), which a
 * machine can `assign` into its context and answer once the work is done (`{reply, From, Value}`
 * with a saved `From`). An unknown or absent caller is ignored.
 */
export function replyTo<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(
  to: ValueExpr<C, E>,
  value: ValueExpr<C, E>,
) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({
    type: EFFECT.replyTo,
    to: resolve(to, args),
    value: resolve(value, args),
  }));
}

/** Keeps the current event and retries it after the next state change (`postpone`). */
export function postpone<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>() {
  return emit<C, E, undefined, TEvent, any>({ type: EFFECT.postpone });
}

/** Handles `event` next, before anything already queued (`{next_event, internal, Event}`). */
export function nextEvent<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(event: Expr<OutEvent, C, E>) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({ type: EFFECT.nextEvent, event: resolve(event, args) }));
}

/**
 * Like {@link nextEvent}, with the runtime clock's time (epoch ms) added to the event as `at`.
 * This is how a pure machine learns when it did something: it has no clock of its own, and
 * `Date.now()` inside one would ignore a simulated clock and make replays differ. A model test
 * (`xstate/graph`) offers the event with any `at`.
 */
export function nextEventAt<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(event: Expr<OutEvent, C, E>) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({ type: EFFECT.nextEvent, event: resolve(event, args), stampAt: true }));
}

/** Options of the timeout actions (gen_statem's timeout options). */
export interface TimeoutOptions {
  /**
   * The time is an absolute deadline on the runtime's clock (epoch ms), not a delay: gen_statem's
   * `{abs, true}`. A deadline already past fires at once. @default false
   */
  abs?: boolean;
}

/**
 * Starts (or restarts) the generic timeout `name` (`{{timeout, Name}, Time, Event}`): it is never
 * cancelled by events or state changes, only by {@link cancelTimer} or by firing. `ms` is a delay,
 * or with `{ abs: true }` a deadline; `Infinity` cancels.
 */
export function startTimer<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(
  name: string,
  ms: Expr<number, C, E>,
  event: Expr<OutEvent, C, E>,
  options: TimeoutOptions = {},
) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({
    type: EFFECT.startTimer,
    name,
    ms: resolve(ms, args),
    event: resolve(event, args),
    abs: options.abs === true,
  }));
}

export function cancelTimer<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(name: string) {
  return emit<C, E, undefined, TEvent, any>({ type: EFFECT.cancelTimer, name });
}

/**
 * Changes the event of the running generic timeout `name`, keeping its deadline
 * (`{{timeout, Name}, update, Event}`). With no such timeout running, `event` is handled at
 * once, as a timeout of zero (gen_statem does the same).
 */
export function updateTimer<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(
  name: string,
  event: Expr<OutEvent, C, E>,
) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({ type: EFFECT.updateTimer, name, event: resolve(event, args) }));
}

/** Delivers `event` after `ms` unless any other event arrives first (gen_statem's event timeout). */
export function eventTimeout<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(
  ms: Expr<number, C, E>,
  event: Expr<OutEvent, C, E>,
  options: TimeoutOptions = {},
) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({
    type: EFFECT.eventTimeout,
    ms: resolve(ms, args),
    event: resolve(event, args),
    abs: options.abs === true,
  }));
}

/**
 * Starts (or restarts) the state timeout (`{state_timeout, Time, Event}`) with a time computed
 * by the step, where `meta.stateTimeout` declares a fixed one per state. There is one: set again,
 * it restarts. The next state change cancels it, unless the transition that changes state is the
 * one that sets it (as in an entry action): then it belongs to the new state. `Infinity` cancels.
 *
 * @example
 * entry: stateTimeout(({ context }) => context.retryMs, { type: 'retry' })
 */
export function stateTimeout<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(
  ms: Expr<number, C, E>,
  event: Expr<OutEvent, C, E>,
  options: TimeoutOptions = {},
) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({
    type: EFFECT.stateTimeout,
    ms: resolve(ms, args),
    event: resolve(event, args),
    abs: options.abs === true,
  }));
}

/** Cancels the state timeout set by {@link stateTimeout} (`{state_timeout, cancel}`). */
export function cancelStateTimeout<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>() {
  return emit<C, E, undefined, TEvent, any>({ type: EFFECT.cancelStateTimeout });
}

/**
 * Changes the event of the running {@link stateTimeout}, keeping its deadline
 * (`{state_timeout, update, Event}`); with none running, `event` is handled at once.
 */
export function updateStateTimeout<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(
  event: Expr<OutEvent, C, E>,
) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({ type: EFFECT.updateStateTimeout, event: resolve(event, args) }));
}

/** Casts `event` to another actor; messages from one actor to another arrive in send order. */
export function castTo<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(to: Expr<Address, C, E>, event: Expr<OutEvent, C, E>) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({
    type: EFFECT.cast,
    to: resolve(to, args),
    event: resolve(event, args),
  }));
}

/** Sends `event` as a plain message (`info`). */
export function sendInfo<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(to: Expr<Address, C, E>, event: Expr<OutEvent, C, E>) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({
    type: EFFECT.send,
    to: resolve(to, args),
    event: resolve(event, args),
  }));
}

/**
 * Calls another actor without blocking: the reply comes back to this actor as the event
 * `onReply(value)`, a timeout or the callee's exit as `onError(error)`. Wait for it in a state
 * of its own (with a state timeout) rather than blocking, which a machine cannot do.
 */
export function callTo<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(
  to: Expr<Address, C, E>,
  event: Expr<OutEvent, C, E>,
  options: {
    timeout?: number;
    onReply: (value: unknown) => OutEvent;
    onError: (error: unknown) => OutEvent;
  },
) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({
    type: EFFECT.call,
    to: resolve(to, args),
    event: resolve(event, args),
    timeout: options.timeout ?? 5_000,
    onReply: options.onReply,
    onError: options.onError,
  }));
}

/** Ends this actor with `reason` once the current event is handled (`{stop, Reason}`). */
export function stop<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(reason: Expr<ExitReason, C, E> = 'normal') {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({ type: EFFECT.stop, reason: resolve(reason, args) }));
}

/** Asks the runtime to passivate this actor once idle: its state goes to the store, its memory is freed. */
export function hibernate<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>() {
  return emit<C, E, undefined, TEvent, any>({ type: EFFECT.hibernate });
}

/**
 * Appends entries (plain JSON values) to this entity's journal: history rather than state, kept
 * by the store beside the entity's state and written by the same atomic commit, so the state
 * need not carry it (e.g. every receipt ever issued, where the state keeps only the tip). The
 * runtime counts the entries in the persisted state (`journalLength`); a store refuses a commit
 * whose journal does not end where that count says.
 */
export function appendJournal<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(entries: ValueExpr<C, E>) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({ type: EFFECT.journal, entries: resolve(entries, args) }));
}

/**
 * Writes one of this entity's keyed records (a JSON value under `key`, e.g. an event id): kept by
 * the store beside the entity's state, in a structure of its own, and written by the same atomic
 * commit — so the state need not carry it. The runtime hands a record back with the event that
 * needs it, as `$record`, when the entity's kind names its key (`EntityKind.recordKey`): a
 * machine still decides synchronously, on what was committed before plus what it wrote since.
 * A record is never removed; writing a key again replaces its value.
 */
export function putRecord<C extends MachineContext, E extends EventObject, TEvent extends EventObject = E>(key: ValueExpr<C, E>, value: ValueExpr<C, E>) {
  return emit<C, E, undefined, TEvent, any>((args: { context: C; event: E }) => ({ type: EFFECT.record, key: resolve(key, args), value: resolve(value, args) }));
}
