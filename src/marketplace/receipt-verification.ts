import { InvalidArgumentError } from './errors.ts';
import { verifyChainHead } from './receipt-head.ts';
import { GENESIS_TIP, ReceiptSchema, receiptHash, type ChainTip } from './receipts.ts';
import type { PublicKeyring } from './signing-keys.ts';

/**
 * Verification of a receipt chain (what `governor audit verify` runs).
 *
 * Reports the first bad position (an index into the given array) and the kind of damage:
 * - `edited`: a receipt's content no longer matches its hash, or a receipt was re-hashed so the
 *   next one's link (or the signed head) no longer matches it;
 * - `deleted`: a sequence number is missing at this position;
 * - `reordered`: receipts are out of sequence order from this position;
 * - `truncated`: the chain ends before the receipt the signed head covers;
 * - `bad_signature`: the signed head does not verify (or its key is unknown);
 * - `malformed`: a receipt or the head does not have the receipt shape at all.
 *
 * Without a signed head, a cut-off tail is undetectable by construction (documented, not a bug):
 * sign heads regularly. A verified `anchor` lets a retained suffix be checked after older
 * receipts were archived (the seeds broke verification when they dropped old entries).
 */

/** What went wrong with a chain. */
export type ChainDamageKind = 'edited' | 'deleted' | 'reordered' | 'truncated' | 'bad_signature' | 'malformed';

/** Outcome of {@link verifyReceiptChain}. */
export type ReceiptChainVerification =
  | { readonly ok: true; readonly length: number; readonly tip: ChainTip }
  | { readonly ok: false; readonly position: number; readonly kind: ChainDamageKind; readonly message: string };

/** Options of {@link verifyReceiptChain}. */
export interface VerifyChainOptions {
  /** A signed head to check the chain against; needs `keyring`. */
  readonly head?: unknown;
  /** Trusted public keys for the head. */
  readonly keyring?: PublicKeyring;
  /** The receipt just before the first one given (for a retained suffix). @default the genesis */
  readonly anchor?: ChainTip;
}

/**
 * Verifies receipts read back from storage. Never throws on bad data (only on a head without a
 * keyring, which is a caller bug).
 * @example
 * const result = verifyReceiptChain(receipts, { head, keyring });
 * if (!result.ok) console.error(`receipt ${result.position}: ${result.kind}: ${result.message}`);
 */
export function verifyReceiptChain(receipts: unknown, options: VerifyChainOptions = {}): ReceiptChainVerification {
  const anchor = options.anchor ?? GENESIS_TIP;
  const firstSeq = anchor.seq + 1;
  let headLength: number | undefined;
  let headHash: string | undefined;
  if (options.head !== undefined) {
    if (!options.keyring) throw new InvalidArgumentError('keyring', 'verifying against a signed head needs the trusted keyring');
    const head = verifyChainHead(options.head, options.keyring);
    if (!head.ok) {
      const length = (options.head as { length?: unknown } | null)?.length;
      const position = typeof length === 'number' && Number.isInteger(length) ? Math.max(0, length - 1 - firstSeq) : 0;
      return damage(position, head.reason === 'malformed' ? 'malformed' : 'bad_signature', head.message);
    }
    headLength = head.head.length;
    headHash = head.head.headHash;
  }
  if (!Array.isArray(receipts)) return damage(0, 'malformed', 'the chain must be an array of receipts');

  const seqs: Array<number | undefined> = receipts.map((r: unknown) =>
    r !== null && typeof r === 'object' && Number.isInteger((r as { seq?: unknown }).seq) ? (r as { seq: number }).seq : undefined,
  );
  let tip = anchor;
  for (let i = 0; i < receipts.length; i += 1) {
    const parsed = ReceiptSchema.safeParse(receipts[i]);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return damage(i, 'malformed', `receipt ${i} is malformed at ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}`);
    }
    const receipt = parsed.data;
    const expected = tip.seq + 1;
    if (receipt.seq !== expected) {
      const expectedLater = seqs.slice(i + 1).some((s) => s !== undefined && s < receipt.seq);
      if (receipt.seq > expected && !expectedLater) {
        return damage(i, 'deleted', `receipt ${expected}${receipt.seq - expected > 1 ? `–${receipt.seq - 1}` : ''} is missing before receipt ${receipt.seq}`);
      }
      return damage(i, 'reordered', `receipt ${receipt.seq} is at position ${i}, where receipt ${expected} belongs`);
    }
    if (receiptHash(receipt.seq, receipt.prevHash, receipt.entry) !== receipt.hash) {
      return damage(i, 'edited', `receipt ${receipt.seq} does not match its hash: its content was changed`);
    }
    if (receipt.prevHash !== tip.hash) {
      // This receipt is intact, so what it points to was changed and re-hashed.
      return i === 0
        ? damage(0, 'edited', `receipt ${receipt.seq} does not follow the anchor it was checked against`)
        : damage(i - 1, 'edited', `receipt ${tip.seq} was changed after receipt ${receipt.seq} was chained to it`);
    }
    tip = { seq: receipt.seq, hash: receipt.hash };
  }

  if (headLength !== undefined && headHash !== undefined) {
    const headSeq = headLength - 1;
    if (tip.seq < headSeq) {
      return damage(receipts.length, 'truncated', `the signed head covers ${headLength} receipts; the chain ends after ${tip.seq + 1}`);
    }
    const position = headSeq - firstSeq;
    // A head at or before the anchor says nothing about the receipts given, except its own hash.
    const signedHash = position >= 0 ? ReceiptSchema.safeParse(receipts[position]).data?.hash : headSeq === anchor.seq ? anchor.hash : headHash;
    if (signedHash !== headHash) {
      return damage(Math.max(0, position), 'edited', `receipt ${headSeq} differs from the one the head signed: the chain was rewritten`);
    }
  }
  return { ok: true, length: receipts.length, tip };
}

function damage(position: number, kind: ChainDamageKind, message: string): ReceiptChainVerification {
  return { ok: false, position, kind, message };
}
