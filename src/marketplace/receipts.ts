import { createHmac } from 'node:crypto';
import { z } from 'zod';
import { canonicalDigest, canonicalJson, sha256Hex } from './canonical-json.ts';
import { InvalidArgumentError } from './errors.ts';
import { GOVERNORS } from './event-routing.ts';
import { SAFE_ID_PATTERN } from './ids.ts';

/**
 * Receipts: one per committed event, in a SHA-256 hash chain.
 *
 * `hash = SHA-256("governor-receipt-v1\n" ‖ prevHash ‖ "\n" ‖ canonicalJson({ seq, entry }))`,
 * with `prevHash` of the first receipt 64 zeros. The sequence number is inside the hash, so a
 * deleted or reordered receipt shows as a gap or an inversion, not only as a broken link.
 *
 * Entries hold references and digests, never personal data: the customer as a keyed pseudonym
 * ({@link pseudonymiseCustomer}), the event as the digest of its canonical encoding. Erasing a
 * customer's data (and destroying the pseudonym key) therefore changes nothing in the chain,
 * which stays verifiable.
 */

/** `prevHash` of the first receipt of a chain. */
export const GENESIS_HASH = '0'.repeat(64);

/** Domain-separation prefix of receipt hashes. */
export const RECEIPT_HASH_CONTEXT = 'governor-receipt-v1\n';

/** A governor's reply to the event, as recorded. */
export type GovernorOutcomeKind = 'applied' | 'not_applicable' | 'rejected' | 'conflict';

const hex64 = z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be 64 lowercase hex digits' });
const safeId = z.string().regex(SAFE_ID_PATTERN);

/** The schema of an entry: strict, used to check receipts read back from storage. */
export const ReceiptEntrySchema = z.strictObject({
  eventId: safeId,
  /** A pseudonymous customer reference (see {@link pseudonymiseCustomer}), never a raw id or name. */
  customerRef: z.union([hex64, safeId]),
  type: z.string().regex(/^[A-Za-z][A-Za-z0-9]{0,63}$/),
  outcomes: z
    .array(
      z.strictObject({
        governor: z.enum(GOVERNORS),
        outcome: z.enum(['applied', 'not_applicable', 'rejected', 'conflict']),
        /** A stable reason code, not free text (free text could carry personal data). */
        reasonCode: safeId.optional(),
      }),
    )
    .max(GOVERNORS.length),
  /** SHA-256 of the canonical encoding of the event ({@link eventDigest}). */
  payloadDigest: hex64,
  /** Commit time, epoch ms. */
  committedAt: z.number().int().min(0),
});

/** What a receipt records about one committed event. */
export type ReceiptEntry = z.infer<typeof ReceiptEntrySchema>;

/** The schema of a stored receipt. */
export const ReceiptSchema = z.strictObject({
  seq: z.number().int().min(0),
  prevHash: hex64,
  hash: hex64,
  entry: ReceiptEntrySchema,
});

/** A receipt in the chain. */
export type Receipt = z.infer<typeof ReceiptSchema>;

/** Where a chain ends: the last receipt's sequence number and hash. */
export interface ChainTip {
  /** Sequence number of the last receipt; −1 for an empty chain. */
  readonly seq: number;
  readonly hash: string;
}

/** The tip of an empty chain. */
export const GENESIS_TIP: ChainTip = { seq: -1, hash: GENESIS_HASH };

/** The hash of a receipt from its parts. */
export function receiptHash(seq: number, prevHash: string, entry: ReceiptEntry): string {
  return sha256Hex(`${RECEIPT_HASH_CONTEXT}${prevHash}\n${canonicalJson({ seq, entry })}`);
}

/**
 * The receipt that follows `tip`. Throws {@link InvalidArgumentError} for an invalid entry (a
 * bug in the caller: entries are built by the orchestrator, not read from outside).
 * @example
 * let tip = GENESIS_TIP;
 * const receipt = appendReceipt(tip, entry);
 * tip = tipOf(receipt);
 */
export function appendReceipt(tip: ChainTip, entry: ReceiptEntry): Receipt {
  let checked = plainEntry(entry);
  if (checked === undefined) {
    const parsed = ReceiptEntrySchema.safeParse(entry);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      throw new InvalidArgumentError(`entry.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'invalid receipt entry');
    }
    checked = parsed.data;
  }
  const seq = tip.seq + 1;
  return { seq, prevHash: tip.hash, hash: receiptHash(seq, tip.hash, checked), entry: checked };
}

const HEX64 = /^[0-9a-f]{64}$/;
const EVENT_TYPE = /^[A-Za-z][A-Za-z0-9]{0,63}$/;
const OUTCOME_KINDS: ReadonlySet<unknown> = new Set(['applied', 'not_applicable', 'rejected', 'conflict']);
const GOVERNOR_NAMES: ReadonlySet<unknown> = new Set(GOVERNORS);
const ENTRY_FIELDS = ['eventId', 'customerRef', 'type', 'outcomes', 'payloadDigest', 'committedAt'] as const;
const ENTRY_KEYS = ENTRY_FIELDS.length;

/**
 * The entry as {@link ReceiptEntrySchema} gives it back (a copy, its keys in the schema's order),
 * checked by hand for the shape the orchestrator builds: zod's parse was 1–3 % of a node's CPU,
 * one per committed event. A subset of what the schema takes (plain objects, safe integers,
 * `reasonCode` absent or a safe id): anything else, valid or not, is `undefined` and goes
 * through the schema, which has the last word and the error message.
 */
function plainEntry(entry: unknown): ReceiptEntry | undefined {
  if (!isPlain(entry)) return undefined;
  const e = entry as Record<string, unknown>;
  const { eventId, customerRef, type, outcomes, payloadDigest, committedAt } = e;
  if (Object.keys(e).length !== ENTRY_KEYS || !ENTRY_FIELDS.every((field) => Object.hasOwn(e, field))) return undefined;
  if (typeof eventId !== 'string' || !SAFE_ID_PATTERN.test(eventId)) return undefined;
  if (typeof customerRef !== 'string' || !(HEX64.test(customerRef) || SAFE_ID_PATTERN.test(customerRef))) return undefined;
  if (typeof type !== 'string' || !EVENT_TYPE.test(type)) return undefined;
  if (typeof payloadDigest !== 'string' || !HEX64.test(payloadDigest)) return undefined;
  if (typeof committedAt !== 'number' || !Number.isSafeInteger(committedAt) || committedAt < 0) return undefined;
  if (!Array.isArray(outcomes) || outcomes.length > GOVERNORS.length) return undefined;
  const kept: ReceiptEntry['outcomes'] = [];
  for (const item of outcomes as unknown[]) {
    if (!isPlain(item)) return undefined;
    const o = item as Record<string, unknown>;
    const keys = Object.keys(o).length;
    if (!Object.hasOwn(o, 'governor') || !Object.hasOwn(o, 'outcome') || !GOVERNOR_NAMES.has(o.governor) || !OUTCOME_KINDS.has(o.outcome)) return undefined;
    if (keys === 2) {
      kept.push({ governor: o.governor as never, outcome: o.outcome as never });
    } else if (keys === 3 && Object.hasOwn(o, 'reasonCode') && typeof o.reasonCode === 'string' && SAFE_ID_PATTERN.test(o.reasonCode)) {
      kept.push({ governor: o.governor as never, outcome: o.outcome as never, reasonCode: o.reasonCode });
    } else {
      return undefined;
    }
  }
  return { eventId, customerRef, type, outcomes: kept, payloadDigest, committedAt };
}

/** An object literal's kind of object: no array, no class instance, no accessor to surprise a copy. */
function isPlain(value: unknown): boolean {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return false;
  const proto = Object.getPrototypeOf(value) as unknown;
  return proto === Object.prototype || proto === null;
}

/** The tip a chain has after `receipt`. */
export function tipOf(receipt: Receipt): ChainTip {
  return { seq: receipt.seq, hash: receipt.hash };
}

/**
 * A keyed pseudonym of a customer id (HMAC-SHA256, hex). With the key, the customer's receipts
 * can be found; once the key is destroyed on erasure, the receipts no longer point to anyone.
 * Use a per-customer key for crypto-shredding, or one service-wide key with erasure of the
 * id mapping elsewhere.
 */
export function pseudonymiseCustomer(customerId: string, key: string | Uint8Array): string {
  if ((typeof key === 'string' ? Buffer.byteLength(key) : key.byteLength) < 16) {
    throw new InvalidArgumentError('key', 'a pseudonym key must be at least 16 bytes');
  }
  return createHmac('sha256', key).update(customerId, 'utf8').digest('hex');
}

/** The digest recorded for an event: SHA-256 of its canonical encoding. */
export function eventDigest(event: unknown): string {
  return canonicalDigest(event);
}
