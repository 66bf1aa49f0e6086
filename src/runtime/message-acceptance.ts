import { GovernorError } from '../errors.ts';
import type { EntityAddress } from './entity.ts';
import type { Envelope, Message } from './envelope.ts';

/** How a message reached an entity, for a kind's {@link MessageCheck}. */
export interface Delivery {
  /** A cast, a plain send (`info`) or a call (the caller waits for a reply). */
  readonly t: 'cast' | 'info' | 'call';
  /** The message id it travelled under (a BullMQ job's, its idempotency key), when the transport has one. */
  readonly id?: string;
  /** The checking node's clock time (epoch ms), for checks relative to now (e.g. a time too far ahead). */
  readonly now?: number;
}

/**
 * A kind's check of one message type, before the message reaches an entity: why it is refused
 * (one line naming the field, the rule and the value), or `undefined` when it is taken. A throw
 * counts as a refusal with the thrown message.
 */
export type MessageCheck = (message: Message, address: EntityAddress, delivery: Delivery) => string | undefined;

/**
 * A kind's check of a message it takes against the target entity's current context (its machine's
 * `context`, live or as last committed; `undefined` for an entity that does not exist yet): why
 * it is refused, or `undefined`. For rules that depend on what the entity has seen, e.g. an
 * idempotency key already used for other content. `record()` gives the keyed record the message
 * needs (`EntityKind.recordKey`; `null`: none, `undefined`: the kind names none), read only when
 * asked. Pure; a throw counts as a refusal (an unreadable record too: never decided as absent).
 */
export type StateCheck = (context: unknown, message: Message, address: EntityAddress, record: () => unknown) => string | undefined;

/**
 * The messages a kind takes from outside the process that hosts it (queues, other nodes, the
 * admin REPL), by type: a {@link MessageCheck}, or `true` for "taken as it is". The key `'*'`
 * (never a message type: `checkMessage` refuses it) checks every type not listed; without it, a
 * type not listed is refused with the list of those that are.
 *
 * Why a closed list: a message no state handles is not an error the sender hears about (it is
 * postponed, or crashes the actor), so a producer's mistake, e.g. an event not wrapped in the
 * kind's message, would otherwise be parked or retried instead of refused with its reason.
 *
 * @example
 * { lifecycle: (message, address) => (isValid(message) ? undefined : '$.event.tier: …'), '*': () => 'wrap the event: { type: "lifecycle", event }' }
 */
export type AcceptedMessages = Readonly<Record<string, MessageCheck | true>>;

/**
 * Why `kind` refuses the message of `envelope` (sent to `address`, under the message id `id` if
 * the transport has one), or `undefined` when it takes it. Signals (exit, down, link, monitor)
 * and replies are not messages to an entity's machine, and a kind without `accepts` takes
 * everything: `undefined` for both.
 */
export function messageRefusal(kind: string, accepts: AcceptedMessages | undefined, address: EntityAddress, envelope: Envelope, id?: string, now?: number): string | undefined {
  if (accepts === undefined || (envelope.t !== 'cast' && envelope.t !== 'info' && envelope.t !== 'call')) return undefined;
  const message = envelope.event;
  // Own properties only: a message of type "constructor" must not find Object.prototype's. (A
  // message of type "*" finds the wildcard either way.)
  const check = Object.hasOwn(accepts, message.type) ? accepts[message.type] : Object.hasOwn(accepts, '*') ? accepts['*'] : undefined;
  if (check === true) return undefined;
  if (check === undefined) {
    // No check found, so the list has no "*": it is every type taken.
    const taken = Object.keys(accepts);
    return `${kind} takes no "${message.type}" messages (it takes ${taken.map((type) => `"${type}"`).join(', ') || 'none'})`;
  }
  try {
    return check(message, address, { t: envelope.t, ...(id === undefined ? {} : { id }), ...(now === undefined ? {} : { now }) });
  } catch (error) {
    return `the ${kind} check of "${message.type}" messages failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/** {@link StateCheck} of `kind`, a throw turned into a refusal. */
export function stateRefusal(
  kind: string,
  check: StateCheck | undefined,
  context: unknown,
  address: EntityAddress,
  envelope: Envelope,
  record: () => unknown = () => undefined,
): string | undefined {
  if (check === undefined || (envelope.t !== 'cast' && envelope.t !== 'info' && envelope.t !== 'call')) return undefined;
  try {
    return check(context, envelope.event, address, record);
  } catch (error) {
    return `the ${kind} state check of "${envelope.event.type}" messages failed: ${error instanceof Error ? error.message : String(error)}`;
  }
}

/**
 * A message its target's kind refuses ({@link messageRefusal}), thrown where a sender can hear it
 * (the admin REPL's `send` and `call`). On a queue the same refusal dead-letters the job instead.
 */
export class InvalidMessageError extends GovernorError {
  constructor(readonly address: EntityAddress, readonly reason: string) {
    super('INVALID_MESSAGE', `${address.entity}/${address.key} refuses the message, nothing was sent: ${reason}`);
  }
}
