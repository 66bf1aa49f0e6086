import { createHmac, randomBytes } from 'node:crypto';
import { canonicalJson } from './canonical-json.ts';
import { InvalidArgumentError } from './errors.ts';

/**
 * Personal data (GDPR, SPEC §4 Compliance): which fields of an event are personal, how the log
 * commits to them without holding them, and how they are taken out of anything stored.
 *
 * The only personal fields an event carries are a subscriber's `contact` (name, email, postal
 * address, tax id) and the free-text `reason` of a payment failure, a cancellation or a
 * suspension (people write names into reasons). Ids (`customerId`, `paymentId`, …) are
 * pseudonymous references, kept: the log needs them and they say nothing without the records
 * erased here.
 *
 * Where each lives:
 * - the contact itself: the CustomerAccount governor's `contact` field (the per-customer
 *   personal-data record), the only state that keeps it; erasure sets it to `null`;
 * - the receipt: its `payloadDigest` covers the event with the contact replaced by a salted
 *   commitment ({@link contactCommitment}: HMAC-SHA256 under a random 32-byte salt per customer).
 *   A plain SHA-256 of an email is reversible by trying likely emails; an HMAC under a secret salt
 *   is not. The salt is held in the customer's Receipts state and destroyed on erasure, after
 *   which the commitment cannot be tested against anything: the receipt stays, and verifies;
 * - everything else that saw the raw event (BullMQ job data kept for a while after completion,
 *   dead letters) is redacted by `governor customer erase` with {@link redactPersonal}.
 */

/** The personal fields of an event, in every event type that may carry them. */
export const PERSONAL_EVENT_FIELDS = ['contact', 'reason'] as const;

/** What replaces a personal value in a redacted copy. */
export const ERASED = '[erased]';

/** A subscriber's contact details, as `CustomerSubscribes.contact` carries them. */
export interface Contact {
  readonly name?: string;
  readonly email?: string;
  readonly address?: string;
  readonly taxId?: string;
}

/** A fresh salt: 32 random bytes, hex. Random, never derived: a derived salt outlives its erasure. */
export function newPersonalSalt(): string {
  return randomBytes(32).toString('hex');
}

/**
 * The salted commitment to a contact: HMAC-SHA256 of its canonical JSON under the customer's
 * salt, prefixed `hmac-sha256:` so a reader of a digested event sees what it is.
 */
export function contactCommitment(contact: unknown, salt: string): string {
  if (!/^[0-9a-f]{64}$/.test(salt)) throw new InvalidArgumentError('salt', 'a personal-data salt is 64 hex digits (32 bytes)');
  return `hmac-sha256:${createHmac('sha256', Buffer.from(salt, 'hex')).update(canonicalJson(contact), 'utf8').digest('hex')}`;
}

/**
 * The event as the receipt digests it: its contact (if any) replaced by the salted commitment.
 * Without a salt (erased) a contact is replaced by {@link ERASED}: after erasure nothing of it is
 * committed to, and no receipt needs it (an erasure is after every event that carried it).
 */
export function withCommittedContact(event: Record<string, unknown>, salt: string | null): Record<string, unknown> {
  if (!('contact' in event)) return event;
  const { contact, ...rest } = event;
  return { ...rest, contact: salt === null ? ERASED : contactCommitment(contact, salt) };
}

/**
 * A deep copy of `value` with every personal field ({@link PERSONAL_EVENT_FIELDS}) of every
 * object replaced by {@link ERASED}, and whether anything was. Pure; for stored copies of events
 * (job data, dead letters) that must stay readable after erasure.
 */
export function redactPersonal(value: unknown): { value: unknown; redacted: number } {
  let redacted = 0;
  const walk = (v: unknown, depth: number): unknown => {
    if (depth > 64 || v === null || typeof v !== 'object') return v;
    if (Array.isArray(v)) return v.map((x) => walk(x, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) {
      if ((PERSONAL_EVENT_FIELDS as readonly string[]).includes(k) && x !== ERASED && x !== null && x !== undefined) {
        out[k] = ERASED;
        redacted++;
      } else out[k] = walk(x, depth + 1);
    }
    return out;
  };
  return { value: walk(value, 0), redacted };
}

/**
 * The event id of a customer's erasure request made by `governor customer erase`: one per
 * customer and log size (`generation`: the receipts the customer had when it was asked), so two
 * erasures racing, or a retry, are one event with one receipt (the orchestrator deduplicates
 * them), while an erasure after the customer came back (more receipts) is a new one. Derived from
 * a digest of the id, as a customer id may be 128 characters.
 */
export function erasureEventId(customerId: string, generation: number): string {
  const digest = createHmac('sha256', 'governor-erasure-v1').update(customerId, 'utf8').digest('hex').slice(0, 40);
  return `gdpr-erasure-${digest}-${generation}`;
}
