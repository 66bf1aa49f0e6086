import { z } from 'zod';
import { valid as validSemver } from 'semver';
import { SAFE_ID_PATTERN } from './ids.ts';
import { CURRENCY_PATTERN } from './money.ts';
import { METRICS } from './pricing.ts';
import { TIER_IDS } from './tiers.ts';

/**
 * The lifecycle events of SPEC §4, usage reports and catalog operations: one strict zod schema
 * per event type. Strict objects refuse unknown fields, so a misspelt optional field is an error
 * instead of silently lost data. Producers in other languages use the JSON Schema generated from
 * these (`lifecycleEventJsonSchema`, `schemas/lifecycle-event.schema.json`).
 *
 * Validate untrusted input with `parseLifecycleEvent`, which adds the checks a schema cannot
 * express (size, depth, prototype-pollution keys, non-JSON values) before these schemas run.
 */

/** Largest accepted event: 64 KiB of UTF-8 JSON. */
export const MAX_EVENT_BYTES = 65_536;
/** Deepest accepted nesting of an event (events are flat; this only bounds hostile input). */
export const MAX_EVENT_DEPTH = 8;
/** Longest free-text field (reasons). */
export const MAX_TEXT_LENGTH = 1_000;

/** Quantities, usage and limits are below this (10^15): finite, and far beyond any real count. */
export const MAX_EVENT_QUANTITY = 1e15;
/**
 * The years a time in an event (`occurredAt`, `effectiveAt`) may be in, as written: 2000 to 2999.
 * A fixed range, so the schemas (and the JSON Schema) say it; a year 0001 or 9999 is a bug.
 */
export const EVENT_YEARS = { first: 2000, last: 2999 } as const;
/**
 * How far ahead of the validating clock an `occurredAt` may be (clock skew between producer and
 * node): 1 hour. Checked apart from the schemas ({@link occurredAtRefusal}), which stay pure.
 */
export const MAX_OCCURRED_AT_AHEAD_MS = 60 * 60_000;

/** A decimal money amount of a payment or price: up to 15 integer digits and 4 decimals. */
export const EVENT_AMOUNT_PATTERN = /^(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,4})?$/;

/** A semantic version (semver.org 2.0.0), no `v` prefix. */
export const SEMVER_PATTERN =
  /^(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)\.(?:0|[1-9]\d*)(?:-(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*)(?:\.(?:0|[1-9]\d*|\d*[a-zA-Z-][0-9a-zA-Z-]*))*)?(?:\+[0-9a-zA-Z-]+(?:\.[0-9a-zA-Z-]+)*)?$/;

/** A SKU id: letters, digits and `-`, 1–64 characters (the seeds' rule). */
export const SKU_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9-]{0,63}$/;

const safeId = z.string().max(128).regex(SAFE_ID_PATTERN, {
  message: 'must be 1–128 characters of A-Z a-z 0-9 . _ : - starting with a letter or digit (not constructor/prototype)',
});
const skuId = z.string().max(64).regex(SKU_ID_PATTERN, { message: 'must be 1–64 letters, digits or "-", starting with a letter or digit' });
// Lone surrogates are refused by the pattern too (parseLifecycleEvent refuses them before any
// schema runs), so that a JSON Schema validator, which reads the pattern with the `u` flag where a
// lone surrogate is a character like any other, refuses what the nodes refuse.
// eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
const text = z.string().min(1).max(MAX_TEXT_LENGTH).regex(/^(?:[^\u0000-\u001f\u007f\ud800-\udfff]|[\ud800-\udbff][\udc00-\udfff])*$/, {
  message: 'must be single-line text without control characters',
});
const positiveAmount = z
  .string()
  .max(20)
  .regex(EVENT_AMOUNT_PATTERN, { message: 'must be a decimal string such as "99.00" (up to 4 decimals, no exponent)' })
  .refine((s) => !EVENT_AMOUNT_PATTERN.test(s) || /[1-9]/.test(s), { message: 'must be greater than zero', params: { rule: 'positive' } });
const currency = z.string().regex(CURRENCY_PATTERN, { message: 'must be a 3-letter upper-case currency code such as "USD"' });
const timestamp = z.iso
  .datetime({ offset: true, message: 'must be an ISO 8601 date-time with a Z or ±hh:mm offset' })
  .regex(/^2[0-9]{3}-/, { message: 'must be in the years 2000 to 2999' });
const nonNegativeNumber = z.number().min(0).lt(MAX_EVENT_QUANTITY, { message: 'must be below 10^15' });
const version = z
  .string()
  .max(256)
  .regex(SEMVER_PATTERN, { message: 'must be a semantic version such as "1.4.0"' })
  .refine((v) => !SEMVER_PATTERN.test(v) || validSemver(v) === v, { message: 'must be a semantic version within semver’s limits' });
const itemKind = z.enum(['sku', 'template']);

/** An email address: local@domain, no spaces (the full RFC 5322 grammar is not the point here). */
export const EMAIL_PATTERN = /^[^\s@]{1,64}@[^\s@]{1,255}$/;

/** A subscriber's contact details: personal data, see `personal-data.ts`. At least one field. */
const contact = z
  .strictObject({
    name: text.max(200).optional(),
    email: z.string().max(320).regex(EMAIL_PATTERN, { message: 'must be an email address such as "ada@example.com"' }).optional(),
    address: text.optional(),
    taxId: z.string().max(32).regex(/^[A-Za-z0-9][A-Za-z0-9 .\-/]{0,31}$/, { message: 'must be 1–32 letters, digits, spaces, ".", "-" or "/"' }).optional(),
  })
  .refine((c) => Object.keys(c).length > 0, { message: 'must have at least one of name, email, address, taxId' });

/** Fields every event carries. */
const envelope = {
  eventId: safeId.describe("The producer's idempotency key: an event id seen before is a duplicate, not a new event."),
  customerId: safeId.describe('The customer the event is about; all events of one customer are processed in order.'),
  occurredAt: timestamp.describe(
    'When the event happened at the producer (ISO 8601 with Z or an offset), in the years 2000 to 2999; the nodes and governor enqueue also refuse one more than 1 hour ahead of their clock.',
  ),
};

const CustomerSubscribes = z.strictObject({
  type: z.literal('CustomerSubscribes'),
  ...envelope,
  sku: skuId,
  tier: z.enum(TIER_IDS),
  contact: contact
    .optional()
    .describe(
      "The subscriber's personal data (name, email, postal address, tax id): kept in one erasable record (the CustomerAccount state), committed to by receipts only as a salted HMAC, removed by `governor customer erase`.",
    ),
  trial: z
    .boolean()
    .optional()
    .describe(
      "false: no trial, the plan is active and its first cycle starts at occurredAt. Absent or true: the tier's trial (Professional and Enterprise 14 days, Community none), once per customer.",
    ),
});
const CustomerUpgrades = z.strictObject({ type: z.literal('CustomerUpgrades'), ...envelope, fromSku: skuId, toSku: skuId });
const PaymentProcessed = z.strictObject({
  type: z.literal('PaymentProcessed'),
  ...envelope,
  amount: positiveAmount,
  currency,
  paymentId: safeId,
});
const PaymentFailed = z.strictObject({ type: z.literal('PaymentFailed'), ...envelope, reason: text, paymentId: safeId });
const UsageExceedsQuota = z.strictObject({
  type: z.literal('UsageExceedsQuota'),
  ...envelope,
  resource: z.string().regex(/^[a-z][a-z0-9_]{0,63}$/, { message: 'must be a snake_case resource name such as "executions"' }),
  usage: nonNegativeNumber,
  limit: nonNegativeNumber,
});
const CustomerCancels = z.strictObject({ type: z.literal('CustomerCancels'), ...envelope, reason: text.optional() });
const ManualSuspension = z.strictObject({ type: z.literal('ManualSuspension'), ...envelope, reason: text, actor: safeId });
const RenewalDue = z.strictObject({ type: z.literal('RenewalDue'), ...envelope, subscriptionId: safeId });
/** GDPR erasure (Art. 17): the customer's personal data is removed everywhere; the audit log stays verifiable. */
const CustomerErasureRequested = z.strictObject({
  type: z.literal('CustomerErasureRequested'),
  ...envelope,
  requestedBy: safeId.describe('Who asked for the erasure (an operator or a system id, not a person’s name): recorded for the audit.'),
});
const UsageRecorded = z.strictObject({
  type: z.literal('UsageRecorded'),
  ...envelope,
  metric: z.enum(METRICS),
  quantity: z.union([
    nonNegativeNumber,
    z.string().max(46).regex(/^(?:0|[1-9][0-9]{0,14})(?:\.[0-9]{1,30})?$/, { message: 'must be a non-negative decimal string below 10^15 (up to 15 integer digits)' }),
  ]),
  idempotencyKey: safeId,
});
const CatalogPublish = z.strictObject({ type: z.literal('CatalogPublish'), ...envelope, itemKind, itemId: safeId, version });
const CatalogDeprecate = z.strictObject({
  type: z.literal('CatalogDeprecate'),
  ...envelope,
  itemKind,
  itemId: safeId,
  version: version.optional(),
  reason: text,
});
const CatalogReprice = z.strictObject({
  type: z.literal('CatalogReprice'),
  ...envelope,
  itemKind,
  itemId: safeId,
  price: positiveAmount,
  currency,
  effectiveAt: timestamp,
});

/** The schema of each event type. */
export const LIFECYCLE_EVENT_SCHEMAS = {
  CustomerSubscribes,
  CustomerUpgrades,
  PaymentProcessed,
  PaymentFailed,
  UsageExceedsQuota,
  CustomerCancels,
  ManualSuspension,
  RenewalDue,
  CustomerErasureRequested,
  UsageRecorded,
  CatalogPublish,
  CatalogDeprecate,
  CatalogReprice,
} as const;

/** Every event type, in SPEC order (lifecycle events, then usage, then catalog operations). */
export const LIFECYCLE_EVENT_TYPES = Object.keys(LIFECYCLE_EVENT_SCHEMAS) as Array<keyof typeof LIFECYCLE_EVENT_SCHEMAS>;

/** An event type name. */
export type LifecycleEventType = keyof typeof LIFECYCLE_EVENT_SCHEMAS;

/** The schema of any event, discriminated by `type`. */
export const LifecycleEventSchema = z.discriminatedUnion('type', [
  CustomerSubscribes,
  CustomerUpgrades,
  PaymentProcessed,
  PaymentFailed,
  UsageExceedsQuota,
  CustomerCancels,
  ManualSuspension,
  RenewalDue,
  CustomerErasureRequested,
  UsageRecorded,
  CatalogPublish,
  CatalogDeprecate,
  CatalogReprice,
]);

/** A validated event. */
export type LifecycleEvent = z.infer<typeof LifecycleEventSchema>;
/** A validated event of one type. */
export type LifecycleEventOf<T extends LifecycleEventType> = Extract<LifecycleEvent, { type: T }>;

/**
 * Why an event's `occurredAt` is implausible as of `now` (epoch ms of the validating clock): more
 * than {@link MAX_OCCURRED_AT_AHEAD_MS} ahead of it. `undefined` when it is plausible. Apart from
 * the schemas, which do not depend on a clock; run by `governor enqueue` and by the nodes (with
 * their runtime clock) after the schema.
 */
export function occurredAtRefusal(event: { readonly occurredAt: string }, now: number): string | undefined {
  const at = Date.parse(event.occurredAt);
  if (!(at > now + MAX_OCCURRED_AT_AHEAD_MS)) return undefined;
  return `$.occurredAt: must not be more than ${MAX_OCCURRED_AT_AHEAD_MS / 60_000} minutes ahead of the clock that validates it (${new Date(now).toISOString()}) (maximum), got ${JSON.stringify(event.occurredAt)}`;
}
