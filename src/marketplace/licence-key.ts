import { z } from 'zod';
import { decodeBase64url, encodeBase64url } from './base64url.ts';
import { canonicalJson } from './canonical-json.ts';
import { InvalidArgumentError } from './errors.ts';
import { SAFE_ID_PATTERN } from './ids.ts';
import { KEY_ID_PATTERN, signBytes, type SigningKey } from './signing-keys.ts';
import { FEATURES, TIER_IDS, type Feature, type TierId } from './tiers.ts';

/**
 * Licence keys: Ed25519 signatures over the canonical encoding of every licence field.
 *
 * Text form: `<kid>.<base64url(payload)>.<base64url(signature)>` where `payload` is the canonical
 * JSON of the licence (key id included, so a signature cannot be moved to another key id) and the
 * signature covers {@link LICENCE_SIGNING_CONTEXT} followed by the payload bytes. Because the
 * expiry is inside the payload, removing or changing it breaks the signature — the seeds' licences
 * signed neither the expiry nor a separator between fields.
 */

/** Domain-separation prefix of the signed bytes: a licence signature is never valid as anything else. */
export const LICENCE_SIGNING_CONTEXT = 'governor-licence-v1\n';

/** Longest licence key accepted; anything longer is `malformed` before any decoding work. */
export const MAX_LICENCE_KEY_LENGTH = 2048;

/** Fields the issuer chooses. */
export interface LicenceFields {
  /** Licence id ({@link SAFE_ID_PATTERN}). */
  readonly id: string;
  /** Organisation the licence is issued to: 1–200 characters, no control characters. */
  readonly organisation: string;
  readonly tier: TierId;
  /** Seats: an integer 1–1,000,000. */
  readonly seats: number;
  /** Unix epoch milliseconds. */
  readonly issuedAt: number;
  /** Unix epoch milliseconds, after `issuedAt`. The licence is expired from this instant on. */
  readonly expiresAt: number;
  /** Per-licence feature overrides on top of the tier's gates. @default {} */
  readonly features?: Readonly<Partial<Record<Feature, boolean>>>;
}

/** A licence as signed: the issuer's fields plus format version and signing key id. */
export interface Licence extends LicenceFields {
  readonly v: 1;
  readonly kid: string;
  readonly features: Readonly<Partial<Record<Feature, boolean>>>;
}

const timestamp = z.number().int().min(0).max(8_640_000_000_000_000);

/** The payload schema: strict, so an unknown field is `malformed`, never ignored. */
const LicenceSchema = z
  .strictObject({
    v: z.literal(1),
    kid: z.string().regex(KEY_ID_PATTERN),
    id: z.string().regex(SAFE_ID_PATTERN),
    // eslint-disable-next-line no-control-regex -- control characters are exactly what is refused
    organisation: z.string().min(1).max(200).regex(/^[^\u0000-\u001f\u007f]*$/),
    tier: z.enum(TIER_IDS),
    seats: z.number().int().min(1).max(1_000_000),
    issuedAt: timestamp,
    expiresAt: timestamp,
    features: z.strictObject(
      Object.fromEntries(FEATURES.map((f) => [f, z.boolean().optional()])) as Record<
        Feature,
        z.ZodOptional<z.ZodBoolean>
      >,
    ),
  })
  .refine((l) => l.expiresAt > l.issuedAt, { message: 'expiresAt must be after issuedAt', path: ['expiresAt'] });

/**
 * Signs a licence with `key` and returns its key string.
 * Throws {@link InvalidArgumentError} when a field is invalid (an issuer bug, not a runtime outcome).
 * @example
 * const key = issueLicence({ id: 'lic-1', organisation: 'Acme', tier: 'professional', seats: 10,
 *   issuedAt: Date.parse('2025-01-01'), expiresAt: Date.parse('2026-01-01') }, signingKey);
 */
export function issueLicence(fields: LicenceFields, key: SigningKey): string {
  const candidate = {
    v: 1,
    kid: key.kid,
    id: fields.id,
    organisation: fields.organisation,
    tier: fields.tier,
    seats: fields.seats,
    issuedAt: fields.issuedAt,
    expiresAt: fields.expiresAt,
    features: { ...fields.features },
  };
  const parsed = LicenceSchema.safeParse(candidate);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new InvalidArgumentError(
      `licence.${issue?.path.join('.') ?? ''}`,
      `${issue?.message ?? 'invalid'}; fix the field before issuing`,
    );
  }
  const payload = Buffer.from(canonicalJson(parsed.data), 'utf8');
  const signature = signBytes(key, signedMessage(payload));
  return `${key.kid}.${encodeBase64url(payload)}.${encodeBase64url(signature)}`;
}

/** A licence key that is well-formed, before its signature and dates are checked. */
export interface DecodedLicenceKey {
  readonly ok: true;
  readonly licence: Licence;
  /** The exact bytes the signature must cover. */
  readonly message: Buffer;
  readonly signature: Buffer;
}

/** Why a key string is not even a licence key. */
export interface MalformedLicenceKey {
  readonly ok: false;
  readonly reason: 'malformed';
  readonly message: string;
}

/**
 * Decodes a licence key string without trusting it: structure, strict base64url, canonical JSON,
 * field rules. Never throws. Signature and dates are checked by the verifier.
 */
export function decodeLicenceKey(key: unknown): DecodedLicenceKey | MalformedLicenceKey {
  if (typeof key !== 'string') return malformed(`a licence key is a string, got ${typeof key}`);
  if (key.length > MAX_LICENCE_KEY_LENGTH) {
    return malformed(`a licence key is at most ${MAX_LICENCE_KEY_LENGTH} characters, got ${key.length}`);
  }
  const parts = key.split('.');
  if (parts.length !== 3) return malformed('a licence key has three dot-separated parts: <kid>.<payload>.<signature>');
  const [kid, payloadText, signatureText] = parts as [string, string, string];
  if (!KEY_ID_PATTERN.test(kid)) return malformed('the key id part is not a valid key id');
  const payload = decodeBase64url(payloadText);
  if (!payload || payload.length === 0) return malformed('the payload part is not canonical base64url');
  const signature = decodeBase64url(signatureText);
  if (!signature || signature.length !== 64) {
    return malformed('the signature part is not 64 bytes of canonical base64url');
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(payload));
  } catch {
    return malformed('the payload is not UTF-8 JSON');
  }
  const parsed = LicenceSchema.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return malformed(`payload field ${issue?.path.join('.') || '(root)'}: ${issue?.message ?? 'invalid'}`);
  }
  // One licence has one spelling: a re-encoded payload would verify under the same content but
  // give a different key string (and cache entry).
  if (canonicalJson(parsed.data) !== payload.toString('utf8')) return malformed('the payload is not canonical JSON');
  if (parsed.data.kid !== kid) return malformed('the key id part does not match the key id inside the payload');
  return { ok: true, licence: parsed.data, message: signedMessage(payload), signature };
}

function signedMessage(payload: Buffer): Buffer {
  return Buffer.concat([Buffer.from(LICENCE_SIGNING_CONTEXT, 'utf8'), payload]);
}

function malformed(message: string): MalformedLicenceKey {
  return { ok: false, reason: 'malformed', message: `malformed licence key: ${message}` };
}
