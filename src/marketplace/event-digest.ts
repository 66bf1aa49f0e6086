import { createHmac } from 'node:crypto';
import { canonicalDigest, canonicalJson } from './canonical-json.ts';
import { PERSONAL_EVENT_FIELDS } from './personal-data.ts';
import type { LifecycleEvent } from './event-schema.ts';

/**
 * The content digest of a lifecycle event: what its idempotency key (`eventId`) stands for. The
 * orchestrator keeps it in the event's handled record, the nodes and `governor enqueue` compare
 * it with the digest of an event that comes again under the same key: equal, it is a duplicate
 * (answered with the original outcome); different, the key was reused for another event, which
 * is refused (`IDEMPOTENCY_KEY_REUSED`), never taken for a duplicate. As Stripe does with a key
 * reused with other parameters.
 *
 * The rule: SHA-256 (lowercase hex) of the canonical JSON ({@link canonicalDigest}, RFC 8785) of
 * the validated event, every field included except `occurredAt`. Why not that one:
 * `governor enqueue` fills it in with the current time when it is absent, and many producers
 * stamp it when they send, so a plain retry of the same event carries another `occurredAt`; it
 * says when, not what. Every other field (the type, the customer, amounts, quantities, reasons,
 * the usage `idempotencyKey`, `effectiveAt`…) is what the event asks for: a resend that changes
 * any of them is another event and needs another `eventId`. The message's `receivedAt` is not
 * part of the event and so not of the digest either.
 */
export function eventDigest(event: Pick<LifecycleEvent, 'eventId'>): string {
  const { occurredAt: _when, ...content } = event as Partial<LifecycleEvent>;
  return canonicalDigest(content);
}

/**
 * The two halves of {@link eventDigest} that a stored record keeps apart, so that what is kept for
 * ever says nothing about a person once they are erased:
 *
 * - `contentDigest`: the same rule with the personal fields (`contact`, `reason`: see
 *   `personal-data.ts`) left out. Anyone can compute it (`governor enqueue` compares it before it
 *   sends);
 * - `personalDigest`: HMAC-SHA256 of the canonical JSON of the personal fields under the
 *   customer's salt (held by its orchestrator, destroyed by its erasure), `undefined` when the event
 *   has none. A plain hash of an email can be reversed by trying likely emails; once the salt is
 *   gone, this cannot be tested against anything.
 */
export function contentDigest(event: Pick<LifecycleEvent, 'eventId'>): string {
  const { occurredAt: _when, ...content } = event as Partial<LifecycleEvent>;
  const kept: Record<string, unknown> = { ...content };
  for (const field of PERSONAL_EVENT_FIELDS) delete kept[field];
  return canonicalDigest(kept);
}

export function personalDigest(event: Pick<LifecycleEvent, 'eventId'>, salt: string): string | undefined {
  const personal = personalFieldsOf(event);
  if (personal === undefined) return undefined;
  return `hmac-sha256:${createHmac('sha256', Buffer.from(salt, 'hex')).update(canonicalJson(personal), 'utf8').digest('hex')}`;
}

/** The event's personal fields that are present, or `undefined` when it carries none. */
export function personalFieldsOf(event: object): Record<string, unknown> | undefined {
  const fields = event as Record<string, unknown>;
  let personal: Record<string, unknown> | undefined;
  for (const field of PERSONAL_EVENT_FIELDS) if (fields[field] !== undefined) (personal ??= {})[field] = fields[field];
  return personal;
}

/**
 * The one-line refusal of an event whose `eventId` was used before for other content, as the
 * nodes dead-letter it and `governor enqueue` reports it.
 */
export function keyReusedReason(eventId: string, customerId: string): string {
  return (
    `IDEMPOTENCY_KEY_REUSED: eventId ${JSON.stringify(eventId)} of customer ${JSON.stringify(customerId)} was used before for an event ` +
    'with different content (only occurredAt may differ on a resend): send a new event under a new eventId'
  );
}
