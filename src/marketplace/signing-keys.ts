import { createPrivateKey, createPublicKey, randomBytes, sign, verify, type KeyObject } from 'node:crypto';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { InvalidArgumentError, InvalidKeyMaterialError } from './errors.ts';
import { getOwn } from './ids.ts';

/**
 * Ed25519 keys shared by licence keys and receipt chain heads: generation from injectable
 * randomness, a keyring of *public* keys by key id, and rotation.
 *
 * Verifiers only ever hold public keys, so extracting what ships with a verifier lets nobody mint
 * licences or forge chain heads (the flaw of the shared-secret scheme in the seeds).
 */

/**
 * A key id: 1–64 letters, digits, `_` or `-` (it appears unescaped in key strings), never
 * `__proto__`, `constructor` or `prototype` (key ids are record keys).
 */
export const KEY_ID_PATTERN = /^(?!(?:__proto__|constructor|prototype)$)[A-Za-z0-9_-]{1,64}$/;

/** A private signing key with its id. Keep it on the issuing side only. */
export interface SigningKey {
  readonly kid: string;
  readonly privateKey: KeyObject;
  /** The matching public key: 32 raw bytes, base64url. */
  readonly publicKey: string;
}

/** A public key the keyring trusts. Retired keys still verify what they signed; they sign nothing new. */
export interface PublicKeyEntry {
  readonly kid: string;
  /** 32 raw Ed25519 public-key bytes, base64url. */
  readonly publicKey: string;
  readonly status: 'active' | 'retired';
}

/** Public keys by id: plain data, safe to persist, ship and compare. */
export interface PublicKeyring {
  readonly keys: Readonly<Record<string, PublicKeyEntry>>;
}

/** Options of {@link generateSigningKey}. */
export interface GenerateKeyOptions {
  /** Source of the 32-byte seed. @default node:crypto `randomBytes` */
  readonly random?: (size: number) => Uint8Array;
}

// PKCS#8 DER header of an Ed25519 private key (RFC 8410); the 32-byte seed follows it.
const PKCS8_ED25519_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex');

/**
 * Creates an Ed25519 signing key with id `kid`.
 * @example
 * const key = generateSigningKey('2025-01');
 * const ring = addPublicKey(emptyKeyring(), key);
 */
export function generateSigningKey(kid: string, options: GenerateKeyOptions = {}): SigningKey {
  const seed = (options.random ?? randomBytes)(32);
  return signingKeyFromSeed(kid, seed);
}

/** Rebuilds a signing key from its 32-byte seed (how a stored private key is loaded). */
export function signingKeyFromSeed(kid: string, seed: Uint8Array): SigningKey {
  checkKid(kid);
  if (seed.byteLength !== 32) throw new InvalidKeyMaterialError(`a seed must be 32 bytes, got ${seed.byteLength}`);
  const privateKey = createPrivateKey({
    key: Buffer.concat([PKCS8_ED25519_PREFIX, seed]),
    format: 'der',
    type: 'pkcs8',
  });
  const jwk = createPublicKey(privateKey).export({ format: 'jwk' });
  if (typeof jwk.x !== 'string') throw new InvalidKeyMaterialError('node:crypto returned no public key');
  return { kid, privateKey, publicKey: jwk.x };
}

/** The seed of a signing key, base64url, for storing it in a secret store. */
export function exportSigningKeySeed(key: SigningKey): string {
  const der = key.privateKey.export({ format: 'der', type: 'pkcs8' });
  return encodeBase64url(der.subarray(PKCS8_ED25519_PREFIX.length));
}

/** A keyring with no keys. */
export function emptyKeyring(): PublicKeyring {
  return { keys: {} };
}

/**
 * Adds the public half of `key` (or a public key entry) to the keyring, as active.
 * Throws {@link InvalidArgumentError} if the id is taken by a different key.
 */
export function addPublicKey(ring: PublicKeyring, key: { kid: string; publicKey: string }): PublicKeyring {
  checkKid(key.kid);
  importPublicKey(key.publicKey);
  const existing = getOwn(ring.keys, key.kid);
  if (existing && existing.publicKey !== key.publicKey) {
    throw new InvalidArgumentError('kid', `key id "${key.kid}" already names another public key: pick a new id`);
  }
  return { keys: { ...ring.keys, [key.kid]: { kid: key.kid, publicKey: key.publicKey, status: 'active' } } };
}

/**
 * Rotation: `next` becomes the active key and every other key is retired. Retired keys keep
 * verifying licences and chain heads they signed until {@link removePublicKey} drops them.
 */
export function rotateKeyring(ring: PublicKeyring, next: { kid: string; publicKey: string }): PublicKeyring {
  const added = addPublicKey(ring, next);
  const entries = Object.values(added.keys).map(
    (entry): PublicKeyEntry => ({ ...entry, status: entry.kid === next.kid ? 'active' : 'retired' }),
  );
  return { keys: Object.fromEntries(entries.map((entry) => [entry.kid, entry])) };
}

/** Drops a key: everything it signed stops verifying (`unknown_key`). */
export function removePublicKey(ring: PublicKeyring, kid: string): PublicKeyring {
  const kept = Object.values(ring.keys).filter((entry) => entry.kid !== kid);
  return { keys: Object.fromEntries(kept.map((entry) => [entry.kid, entry])) };
}

/** Looks a key up by id, never through the prototype chain. */
export function findPublicKey(ring: PublicKeyring, kid: string): PublicKeyEntry | undefined {
  return getOwn(ring.keys, kid);
}

/** Signs bytes with Ed25519. @internal */
export function signBytes(key: SigningKey, message: Uint8Array): Buffer {
  return sign(null, message, key.privateKey);
}

/** Verifies an Ed25519 signature; false for malformed keys or signatures, never throws. @internal */
export function verifyBytes(publicKey: string, message: Uint8Array, signature: Uint8Array): boolean {
  try {
    return verify(null, message, importPublicKey(publicKey), signature);
  } catch {
    return false;
  }
}

function importPublicKey(publicKey: string): KeyObject {
  const raw = decodeBase64url(publicKey);
  if (!raw || raw.length !== 32) {
    throw new InvalidKeyMaterialError('a public key must be 32 bytes in canonical unpadded base64url');
  }
  try {
    return createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: publicKey }, format: 'jwk' });
  } catch (cause) {
    throw new InvalidKeyMaterialError('node:crypto refused the public key', { cause });
  }
}

function checkKid(kid: string): void {
  if (!KEY_ID_PATTERN.test(kid)) {
    throw new InvalidArgumentError('kid', `"${kid}" is not a key id: use 1–64 letters, digits, "_" or "-" (not __proto__, constructor, prototype)`);
  }
}
