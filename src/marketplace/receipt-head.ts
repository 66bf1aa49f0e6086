import { z } from 'zod';
import { SAFE_ID_PATTERN } from './ids.ts';
import type { ChainTip } from './receipts.ts';
import { signHead, verifySignedHead, type SignedHeadVerification } from './signed-head.ts';
import { KEY_ID_PATTERN, type PublicKeyring, type SigningKey } from './signing-keys.ts';

/**
 * Signed chain heads: an Ed25519 signature over (chain id, length, head hash, time).
 *
 * A hash chain alone shows edits, deletions and reordering inside it, but not a cut-off tail or a
 * complete rewrite; a head signed by a key the verifier trusts anchors the chain's length and
 * last hash.
 */

/** Domain-separation prefix of the signed bytes. */
export const CHAIN_HEAD_SIGNING_CONTEXT = 'governor-chain-head-v1\n';

/** The schema of a signed head, for heads read back from storage. */
export const SignedChainHeadSchema = z.strictObject({
  v: z.literal(1),
  chainId: z.string().regex(SAFE_ID_PATTERN),
  /** Number of receipts covered: the head is receipt `length − 1`. */
  length: z.number().int().min(1),
  headHash: z.string().regex(/^[0-9a-f]{64}$/),
  /** Epoch ms. */
  signedAt: z.number().int().min(0),
  kid: z.string().regex(KEY_ID_PATTERN),
  /** Ed25519 signature, base64url. */
  signature: z.string().max(100),
});

/** A signed chain head. */
export type SignedChainHead = z.infer<typeof SignedChainHeadSchema>;

/** Signs the head of a chain whose last receipt is `tip`. */
export function signChainHead(
  head: { readonly chainId: string; readonly tip: ChainTip; readonly signedAt: number },
  key: SigningKey,
): SignedChainHead {
  const unsigned = {
    v: 1 as const,
    chainId: head.chainId,
    length: head.tip.seq + 1,
    headHash: head.tip.hash,
    signedAt: head.signedAt,
    kid: key.kid,
  };
  return signHead(CHAIN_HEAD_SIGNING_CONTEXT, unsigned, key);
}

/** Outcome of {@link verifyChainHead}. */
export type ChainHeadVerification = SignedHeadVerification<SignedChainHead>;

/** Checks a head's shape and signature. Never throws. */
export function verifyChainHead(head: unknown, keyring: PublicKeyring): ChainHeadVerification {
  return verifySignedHead(SignedChainHeadSchema, CHAIN_HEAD_SIGNING_CONTEXT, 'chain head', head, keyring);
}
