import { z } from 'zod';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { canonicalJson } from './canonical-json.ts';
import { SAFE_ID_PATTERN } from './ids.ts';
import type { ChainTip } from './receipts.ts';
import { KEY_ID_PATTERN, findPublicKey, signBytes, verifyBytes, type PublicKeyring, type SigningKey } from './signing-keys.ts';

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
  return { ...unsigned, signature: encodeBase64url(signBytes(key, message(unsigned))) };
}

/** Outcome of {@link verifyChainHead}. */
export type ChainHeadVerification =
  | { readonly ok: true; readonly head: SignedChainHead }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown_key' | 'bad_signature'; readonly message: string };

/** Checks a head's shape and signature. Never throws. */
export function verifyChainHead(head: unknown, keyring: PublicKeyring): ChainHeadVerification {
  const parsed = SignedChainHeadSchema.safeParse(head);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'malformed', message: `malformed chain head: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}` };
  }
  const { signature, ...unsigned } = parsed.data;
  const entry = findPublicKey(keyring, unsigned.kid);
  if (!entry) return { ok: false, reason: 'unknown_key', message: `no trusted public key has id "${unsigned.kid}"` };
  const bytes = decodeBase64url(signature);
  if (!bytes || bytes.length !== 64 || !verifyBytes(entry.publicKey, message(unsigned), bytes)) {
    return { ok: false, reason: 'bad_signature', message: 'the chain head signature does not verify: the head was altered or forged' };
  }
  return { ok: true, head: parsed.data };
}

function message(unsigned: Omit<SignedChainHead, 'signature'>): Buffer {
  return Buffer.from(`${CHAIN_HEAD_SIGNING_CONTEXT}${canonicalJson(unsigned)}`, 'utf8');
}
