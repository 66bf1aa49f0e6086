import { z } from 'zod';
import { SAFE_ID_PATTERN } from './ids.ts';
import { signHead, verifySignedHead, type SignedHeadVerification } from './signed-head.ts';
import { KEY_ID_PATTERN, type PublicKeyring, type SigningKey } from './signing-keys.ts';

/**
 * Signed tree heads (format v2): an Ed25519 signature over (log id, tree size, Merkle root,
 * first sequence number, time, key id), in the manner of RFC 9162's signed tree heads.
 *
 * The root is the RFC 9162 Merkle tree hash of the log's receipts (see `receipt-log.ts`), so the
 * head commits to every receipt from the first one on: deleting, reordering or editing any of
 * them, the first ones included, changes the root. `firstSeq` is signed too: 0 for a log from
 * genesis; above 0 only for a log migrated from a chain whose oldest receipts were already lost
 * (it says so, signed, and verification reports it). The v1 chain head (`receipt-head.ts`)
 * signed only length and tip, so a verifier had to take the chain's start from the file.
 */

/** Domain-separation prefix of the signed bytes: never valid as a v1 chain head's. */
export const TREE_HEAD_SIGNING_CONTEXT = 'governor-receipt-tree-head-v2\n';

/** The schema of a signed tree head, for heads read back from files. */
export const SignedTreeHeadSchema = z.strictObject({
  v: z.literal(2),
  /** The log's id: the customer's pseudonym, never the raw id. */
  logId: z.string().regex(SAFE_ID_PATTERN),
  /** Number of receipts (leaves) covered. */
  treeSize: z.number().int().min(0),
  /** RFC 9162 MTH of the first `treeSize` receipts, 64 hex digits. */
  rootHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Sequence number of leaf 0: 0 for a log from genesis. */
  firstSeq: z.number().int().min(0),
  /** Epoch ms. */
  signedAt: z.number().int().min(0),
  kid: z.string().regex(KEY_ID_PATTERN),
  /** Ed25519 signature, base64url. */
  signature: z.string().max(100),
});

/** A signed tree head. */
export type SignedTreeHead = z.infer<typeof SignedTreeHeadSchema>;

/** What {@link signTreeHead} signs. */
export type TreeHeadFields = Omit<SignedTreeHead, 'v' | 'kid' | 'signature'>;

/** Signs a tree head with `key`. */
export function signTreeHead(fields: TreeHeadFields, key: SigningKey): SignedTreeHead {
  const unsigned = {
    v: 2 as const,
    logId: fields.logId,
    treeSize: fields.treeSize,
    rootHash: fields.rootHash,
    firstSeq: fields.firstSeq,
    signedAt: fields.signedAt,
    kid: key.kid,
  };
  return signHead(TREE_HEAD_SIGNING_CONTEXT, unsigned, key);
}

/** Outcome of {@link verifyTreeHead}. */
export type TreeHeadVerification = SignedHeadVerification<SignedTreeHead>;

/** Checks a tree head's shape and signature with public keys alone. Never throws. */
export function verifyTreeHead(head: unknown, keyring: PublicKeyring): TreeHeadVerification {
  return verifySignedHead(SignedTreeHeadSchema, TREE_HEAD_SIGNING_CONTEXT, 'tree head', head, keyring);
}
