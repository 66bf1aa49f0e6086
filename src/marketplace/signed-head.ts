import type { z } from 'zod';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { canonicalJson } from './canonical-json.ts';
import { findPublicKey, signBytes, verifyBytes, type PublicKeyring, type SigningKey } from './signing-keys.ts';

/**
 * A signed head, whatever it commits to: Ed25519 over a domain-separation context and the
 * canonical JSON of its fields (its `kid` included), the signature in base64url beside them. The v1
 * chain head and the v2 tree head differ only in their fields and context, so both are this.
 */

/** Outcome of {@link verifySignedHead}. */
export type SignedHeadVerification<H> =
  | { readonly ok: true; readonly head: H }
  | { readonly ok: false; readonly reason: 'malformed' | 'unknown_key' | 'bad_signature'; readonly message: string };

/** Signs `unsigned` (which names the key's `kid`) under `context`. */
export function signHead<U extends { readonly kid: string }>(context: string, unsigned: U, key: SigningKey): U & { signature: string } {
  return { ...unsigned, signature: encodeBase64url(signBytes(key, message(context, unsigned))) };
}

/** Checks a head's shape against `schema` and its signature with public keys alone. Never throws. */
export function verifySignedHead<S extends z.ZodType<{ kid: string; signature: string }>>(
  schema: S,
  context: string,
  noun: string,
  head: unknown,
  keyring: PublicKeyring,
): SignedHeadVerification<z.infer<S>> {
  const parsed = schema.safeParse(head);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: 'malformed', message: `malformed ${noun}: ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? ''}` };
  }
  const { signature, ...unsigned } = parsed.data as { kid: string; signature: string };
  const entry = findPublicKey(keyring, unsigned.kid);
  if (!entry) return { ok: false, reason: 'unknown_key', message: `no trusted public key has id "${unsigned.kid}"` };
  const bytes = decodeBase64url(signature);
  if (!bytes || bytes.length !== 64 || !verifyBytes(entry.publicKey, message(context, unsigned), bytes)) {
    return { ok: false, reason: 'bad_signature', message: `the ${noun} signature does not verify: the head was altered or forged` };
  }
  return { ok: true, head: parsed.data };
}

function message(context: string, unsigned: object): Buffer {
  return Buffer.from(`${context}${canonicalJson(unsigned)}`, 'utf8');
}
