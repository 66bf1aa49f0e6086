import { z } from 'zod';
import { LIFECYCLE_EVENT_TYPES, LifecycleEventSchema, occurredAtRefusal, type LifecycleEvent } from './event-schema.ts';
import { parseJsonValue, type EventValidationIssue } from './event-validation.ts';
import { isSafeId } from './ids.ts';

/**
 * The Orchestrator's `lifecycle` message: how a lifecycle event travels to its customer's
 * orchestrator (`{ entity: 'Orchestrator', key: customerId }`), and the rules a node checks
 * before the orchestrator sees one (`marketplaceKinds`' `accepts`, applied by the transport).
 */

/** The entity kind lifecycle events go to. */
export const ORCHESTRATOR_KIND = 'Orchestrator';
/** The type of the message that carries a lifecycle event. */
export const LIFECYCLE_MESSAGE_TYPE = 'lifecycle';

/** The message: the event, and when the producer enqueued it (informational: records use the node's clock). */
export const LifecycleMessageSchema = z.strictObject({
  type: z.literal(LIFECYCLE_MESSAGE_TYPE),
  event: LifecycleEventSchema,
  receivedAt: z.int().min(0).optional().describe("The producer's enqueue time, ms since the epoch; informational."),
});

/** A validated lifecycle message. */
export type LifecycleMessage = z.infer<typeof LifecycleMessageSchema>;

/** A message id of a resend: `messageIdOf(event)`, `.` and this (see {@link isMessageIdOf}). */
const RESEND_SUFFIX = /^[A-Za-z0-9._|-]*$/;
/** The longest message id a BullMQ job may carry (`checkMessageId`). */
const MAX_MESSAGE_ID_LENGTH = 512;

/**
 * The job message id of an event: its customer and its eventId, which makes a repeated enqueue of
 * one event a no-op. The customer is part of it because a partition queue is shared by many
 * customers and each picks its own eventIds: with the eventId alone, BullMQ would drop customer
 * B's event as a duplicate of customer A's job with the same id (while it waits, or is kept once completed).
 *
 * Injective on validated events (safe ids: no "/" or "|" in them): `ev.<customer>/<event>` with
 * ":" written "|", since BullMQ job ids must not contain ":"; at most 260 characters.
 * @example messageIdOf({ customerId: 'acme:eu', eventId: 'pay-1' }) // 'ev.acme|eu/pay-1'
 */
export function messageIdOf(event: Pick<LifecycleEvent, 'customerId' | 'eventId'>): string {
  if (!isSafeId(event.customerId) || !isSafeId(event.eventId)) {
    throw new TypeError(`messageIdOf takes a validated event (safe customerId and eventId), got ${JSON.stringify([event.customerId, event.eventId])}`);
  }
  return `ev.${event.customerId.replaceAll(':', '|')}/${event.eventId.replaceAll(':', '|')}`;
}

/**
 * Whether `id` is a message id of `event`: {@link messageIdOf}, or that followed by `.` and a
 * suffix of letters, digits, `.`, `_`, `|` and `-` (a producer's resend under a new job id, which
 * the orchestrator then answers as a duplicate by eventId), at most 512 characters in all.
 */
export function isMessageIdOf(id: string, event: Pick<LifecycleEvent, 'customerId' | 'eventId'>): boolean {
  const base = messageIdOf(event);
  if (id === base) return true;
  return id.length <= MAX_MESSAGE_ID_LENGTH && id.startsWith(`${base}.`) && RESEND_SUFFIX.test(id.slice(base.length + 1));
}

/** The outcome of {@link parseLifecycleMessage}. */
export type LifecycleMessageParseResult =
  | { readonly ok: true; readonly message: LifecycleMessage }
  | { readonly ok: false; readonly issues: readonly EventValidationIssue[] };

/**
 * Validates a `lifecycle` message as `parseLifecycleEvent` validates an event (the same JSON
 * checks, size limit and issue format), its event included: issues inside it are at `$.event…`.
 */
export function parseLifecycleMessage(input: unknown): LifecycleMessageParseResult {
  const parsed = parseJsonValue(LifecycleMessageSchema, input, 'message');
  return parsed.ok ? { ok: true, message: parsed.value } : parsed;
}

/** At most this many issues in a refusal: the first ones name the problem, the rest only lengthen a log line. */
const ISSUES_SHOWN = 5;

/**
 * Why an Orchestrator refuses a `lifecycle` message, or `undefined` when it takes it:
 * 1. the message and its event are valid ({@link parseLifecycleMessage});
 * 2. it is sent to the event's customer: `address.key === event.customerId`;
 * 3. a cast or plain send that came under a message id came under one of the event's
 *    ({@link isMessageIdOf}); a call's id is its caller's, not the event's;
 * 4. given the checking clock's time (`delivery.now`), the event's `occurredAt` is not too far
 *    ahead of it ({@link occurredAtRefusal}).
 *
 * The Orchestrator kind also checks an eventId reused for other content, against its handled
 * records (`checkState`, machines/reused-keys.ts).
 *
 * One line, naming the field, the rule and the value, e.g.
 * `$.event.tier: must be one of "community", "professional", "enterprise" (enum), got "Professional"`.
 */
export function lifecycleMessageRefusal(
  message: unknown,
  address: { readonly entity: string; readonly key: string },
  delivery: { readonly t: string; readonly id?: string; readonly now?: number },
): string | undefined {
  const parsed = parseLifecycleMessage(message);
  if (!parsed.ok) {
    const shown = parsed.issues.slice(0, ISSUES_SHOWN).map(describeIssue);
    const more = parsed.issues.length > ISSUES_SHOWN ? `; and ${parsed.issues.length - ISSUES_SHOWN} more` : '';
    return `${shown.join('; ')}${more}`;
  }
  const event = parsed.message.event;
  if (event.customerId !== address.key) {
    return (
      `$.event.customerId: must be the key of the ${address.entity} it is sent to, ${JSON.stringify(address.key)} (key_mismatch), ` +
      `got ${JSON.stringify(event.customerId)}: send a customer's events to { entity: "${ORCHESTRATOR_KIND}", key: customerId }`
    );
  }
  if (delivery.t !== 'call' && delivery.id !== undefined && !isMessageIdOf(delivery.id, event)) {
    return `id: must be messageIdOf(event), ${JSON.stringify(messageIdOf(event))} (ev.<customerId>/<eventId>, ":" written "|") (message_id), got ${JSON.stringify(delivery.id.slice(0, 64))}`;
  }
  const ahead = delivery.now === undefined ? undefined : occurredAtRefusal(event, delivery.now);
  return ahead === undefined ? undefined : ahead.replace(/^\$\./, '$.event.');
}

/** `<path>: <message> (<rule>), got <value>`, as `governor enqueue` prints an issue. */
function describeIssue(issue: EventValidationIssue): string {
  const message = issue.message.startsWith(issue.path) ? issue.message : `${issue.path}: ${issue.message}`;
  return `${message} (${issue.rule})${issue.value === undefined ? '' : `, got ${issue.value}`}`;
}

/**
 * What the Orchestrator says to any other message from outside: the usual mistake is an event
 * sent bare instead of wrapped in its `lifecycle` message.
 */
export function otherMessageRefusal(message: { readonly type: string }): string {
  return (LIFECYCLE_EVENT_TYPES as readonly string[]).includes(message.type)
    ? `${ORCHESTRATOR_KIND} takes lifecycle events wrapped: { type: "lifecycle", event: { type: ${JSON.stringify(message.type)}, … } }, not the bare event (see the README's "Job format for producers")`
    : `${ORCHESTRATOR_KIND} takes no ${JSON.stringify(message.type)} messages (it takes "lifecycle": { type: "lifecycle", event: <lifecycle event> })`;
}
