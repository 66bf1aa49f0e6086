import type { ExitReason } from './exit-reason.ts';
import type { EntityAddress } from './entity.ts';
import type { Pid } from './pid.ts';

/**
 * The event a machine gets as its actor terminates in order (gen_statem's `terminate/3`):
 * `{ type: 'governor.terminate', reason }`, when its supervisor shuts it down (an actor that traps
 * exits; one that does not is just killed by the signal) and on `stopProcess`. Whatever transition
 * takes it runs its actions (tell others, reply to saved callers); then the actor exits with
 * `reason`, whatever state it reached. A machine that does not take it just exits.
 *
 * @example
 * on: { [TERMINATE_EVENT]: { actions: castTo('audit', ({ event }) => ({ type: 'closing', reason: event.reason })) } }
 */
export const TERMINATE_EVENT = 'governor.terminate';

/**
 * Everything that travels between processes, locally or through a transport. One shape for
 * both, so a transport is a pipe for envelopes and never needs to know what an actor is.
 */
export type Envelope =
  | MessageEnvelope
  | CallEnvelope
  | ReplyEnvelope
  | ExitEnvelope
  | DownEnvelope
  | LinkEnvelope
  | MonitorEnvelope
  | TimeoutEnvelope
  | StopEnvelope;

/** What actors exchange: an event object, as in XState. */
export interface Message {
  readonly type: string;
  readonly [key: string]: unknown;
}

/**
 * Checks a message from a sender before it is queued: an object with a non-empty string `type`,
 * not XState's wildcard `*` and not one of XState's own `xstate.*` events (a forged
 * `xstate.after.…` would fire a delayed transition early), except `xstate.route`: XState's `route`
 * is meant to be sent from outside, and only reaches states that declare `route` (with their
 * guard); nor the runtime's terminate event (a forged one would run a machine's terminate
 * handler while it goes on living). A malformed message is the sender's bug, so the sender gets
 * the `TypeError`; it must never crash the actor it was sent to.
 */
export function checkMessage(event: unknown): asserts event is Message {
  const type = typeof event === 'object' && event !== null ? (event as { type?: unknown }).type : undefined;
  if (typeof type !== 'string' || isReservedEventType(type) || type === TERMINATE_EVENT) {
    throw new TypeError(
      `a message must be an object with a non-empty string "type" (not "*", not "xstate.…" other than "xstate.route", not "${TERMINATE_EVENT}"), got ${describe(event)}`,
    );
  }
}

/** An event type no sender may use: empty, `*`, or XState's own `xstate.*` but `xstate.route`. One rule for every way in. */
export function isReservedEventType(type: string): boolean {
  return type.length === 0 || type === '*' || (type.startsWith('xstate.') && type !== 'xstate.route');
}

/**
 * Checks an address from a caller: a pid or registered name (a non-empty string), `{ name, node }`
 * with non-empty strings, or an entity address (checked where it is placed). Anything else was
 * silently dropped or failed as `noconnection` to a node named `undefined`; Erlang's badarg.
 */
export function checkAddress(to: unknown): asserts to is Address {
  if (typeof to === 'string' && to.length > 0) return;
  if (typeof to === 'object' && to !== null && !Array.isArray(to)) {
    if ('entity' in to && 'key' in to) return;
    const { name, node } = to as { name?: unknown; node?: unknown };
    if (typeof name === 'string' && name.length > 0 && typeof node === 'string' && node.length > 0) return;
  }
  throw new TypeError(`an address must be a pid, a registered name, { name, node } or { entity, key }, got ${describe(to)}`);
}

function describe(value: unknown): string {
  try {
    return JSON.stringify(value) ?? String(value);
  } catch {
    // A bigint inside, a cycle; and String() throws too for an object without a prototype.
    try {
      return String(value);
    } catch {
      return Object.prototype.toString.call(value);
    }
  }
}

/** An address: a pid, a registered name (optionally on another node), or an entity. */
export type Address = Pid | string | { name: string; node: string } | EntityAddress;

/** Who waits for a reply: a pending call on some node, identified by a unique ref. */
export interface CallerRef {
  readonly node: string;
  readonly ref: string;
}

/** `cast` (a gen_statem cast) or `info` (a plain `send`, Erlang's `!`). */
export interface MessageEnvelope {
  readonly t: 'cast' | 'info';
  readonly to: Address;
  readonly from?: Pid;
  readonly event: Message;
}

export interface CallEnvelope {
  readonly t: 'call';
  readonly to: Address;
  readonly from: CallerRef;
  readonly event: Message;
}

export interface ReplyEnvelope {
  readonly t: 'reply';
  readonly to: CallerRef;
  readonly value: unknown;
}

/** An exit signal; `linked` tells a link's signal from an explicit `exit(pid, reason)`. */
export interface ExitEnvelope {
  readonly t: 'exit';
  readonly to: Pid;
  readonly from: Pid;
  readonly reason: ExitReason;
  readonly linked: boolean;
}

export interface DownEnvelope {
  readonly t: 'down';
  readonly to: Pid | CallerRef;
  readonly ref: string;
  readonly pid: Pid;
  readonly reason: ExitReason;
}

export interface LinkEnvelope {
  readonly t: 'link' | 'unlink';
  readonly to: Pid;
  readonly from: Pid;
}

export interface MonitorEnvelope {
  readonly t: 'monitor' | 'demonitor';
  readonly to: Address;
  readonly from: Pid | CallerRef;
  readonly ref: string;
}

/**
 * An orderly stop (`gen_statem:stop`, `supervisor:stop`): handled in mailbox order, like OTP's
 * system message, by the process's own terminate. Local only: a transport never carries one.
 */
export interface StopEnvelope {
  readonly t: 'stop';
  readonly to: Pid;
  readonly reason: ExitReason;
}

/** A runtime timer falling due, delivered through the mailbox like any event. */
export interface TimeoutEnvelope {
  readonly t: 'timeout';
  readonly to: Pid;
  readonly name: string;
  readonly token: number;
}
