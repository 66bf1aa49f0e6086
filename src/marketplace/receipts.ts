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
  const parsed = ReceiptEntrySchema.safeParse(entry);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(`entry.${issue?.path.join('.') ?? ''}`, issue?.message ?? 'invalid receipt entry');
  }
  const seq = tip.seq + 1;
  return { seq, prevHash: tip.hash, hash: receiptHash(seq, tip.hash, parsed.data), entry: parsed.data };
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
