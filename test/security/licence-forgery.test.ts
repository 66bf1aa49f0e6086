/**
 * Licence forgery: whatever an attacker changes in a valid licence key, at the level of
 * characters, of payload bytes, of payload fields (re-encoded canonically, so only the signature
 * stands between them and a better licence) or of the signature, the verifier refuses it with one
 * of its named reasons and a message, never throws, and never accepts. A verified original in
 * the cache does not help a forgery either (the cache is keyed by the whole key string).
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeBase64url } from '../../src/marketplace/base64url.ts';
import { canonicalJson } from '../../src/marketplace/canonical-json.ts';
import { decodeLicenceKey, issueLicence, type LicenceFields } from '../../src/marketplace/licence-key.ts';
import { LicenceVerifier, type LicenceRejectionReason, type LicenceVerification } from '../../src/marketplace/licence-verifier.ts';
import { addPublicKey, emptyKeyring, generateSigningKey } from '../../src/marketplace/signing-keys.ts';
import { FEATURES, TIER_IDS } from '../../src/marketplace/tiers.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2026-06-01T00:00:00Z');
const key = generateSigningKey('k2026', { random: () => new Uint8Array(32).fill(7) });
const other = generateSigningKey('k2026', { random: () => new Uint8Array(32).fill(9) });
const keyring = addPublicKey(emptyKeyring(), key);
const REASONS: readonly LicenceRejectionReason[] = ['malformed', 'unknown_key', 'bad_signature', 'clock_rollback', 'not_yet_valid', 'expired'];

/** Licences valid at T0, so a rejection is never about the dates. */
const licenceFields: fc.Arbitrary<LicenceFields> = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,30}$/).filter((s) => s !== 'constructor' && s !== 'prototype'),
  // eslint-disable-next-line no-control-regex
  organisation: fc.string({ unit: 'grapheme', minLength: 1, maxLength: 40 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s) && s.length <= 200),
  tier: fc.constantFrom(...TIER_IDS),
  seats: fc.integer({ min: 1, max: 1_000_000 }),
  issuedAt: fc.integer({ min: T0 - 365 * DAY, max: T0 }),
  expiresAt: fc.integer({ min: T0 + 1, max: T0 + 5 * 365 * DAY }),
  features: fc.dictionary(fc.constantFrom(...FEATURES), fc.boolean()),
});

const verifier = () => new LicenceVerifier({ keyring, now: () => T0 });

/** Verifies without letting anything escape: an exception is a test failure with the input. */
function verifyQuietly(v: LicenceVerifier, text: unknown): LicenceVerification {
  try {
    return v.verify(text);
  } catch (error) {
    throw new Error(`verify threw on ${JSON.stringify(text)}: ${String(error)}`);
  }
}

function expectRefused(result: LicenceVerification, forged: unknown, reasons: readonly LicenceRejectionReason[] = REASONS): void {
  expect(result.ok, `accepted a forgery: ${JSON.stringify(forged)}`).toBe(false);
  if (result.ok) return;
  expect(reasons).toContain(result.reason);
  expect(result.message.length).toBeGreaterThan(10);
}

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
/** One edit of a key string: replace, insert or delete a character, anywhere. */
const edit = fc.oneof(
  fc.record({ op: fc.constant('replace' as const), at: fc.nat(), char: fc.oneof(fc.constantFrom(...BASE64URL, '.', '=', '+', '/', ' ', '\u0000', '\uD800'), fc.string({ minLength: 1, maxLength: 1, unit: 'binary' })) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), char: fc.constantFrom(...BASE64URL, '.', '=') }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat() }),
);
type Edit = typeof edit extends fc.Arbitrary<infer E> ? E : never;

function applyEdits(text: string, edits: readonly Edit[]): string {
  let out = text;
  for (const e of edits) {
    const at = out.length === 0 ? 0 : e.at % (out.length + (e.op === 'insert' ? 1 : 0));
    if (e.op === 'replace') out = out.slice(0, at) + e.char + out.slice(at + 1);
    else if (e.op === 'insert') out = out.slice(0, at) + e.char + out.slice(at);
    else out = out.slice(0, at) + out.slice(at + 1);
  }
  return out;
}

describe('forged licence keys are refused', () => {
  it('character edits anywhere (kid, payload, signature, separators) never verify', () => {
    fc.assert(
      fc.property(licenceFields, fc.array(edit, { minLength: 1, maxLength: 4 }), (fields, edits) => {
        const genuine = issueLicence(fields, key);
        const forged = applyEdits(genuine, edits);
        fc.pre(forged !== genuine);
        const v = verifier();
        expect(verifyQuietly(v, genuine).ok).toBe(true); // now cached
        expectRefused(verifyQuietly(v, forged), forged);
      }),
      { numRuns: 400 },
    );
  });

  it('random changes to payload bytes, re-encoded as valid base64url, never verify', () => {
    fc.assert(
      fc.property(licenceFields, fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { minLength: 1, maxLength: 3 }), (fields, flips) => {
        const [kid, payload, signature] = issueLicence(fields, key).split('.') as [string, string, string];
        const bytes = Buffer.from(payload, 'base64url');
        for (const [at, mask] of flips) bytes[at % bytes.length]! ^= mask;
        const forged = `${kid}.${encodeBase64url(bytes)}.${signature}`;
        fc.pre(encodeBase64url(bytes) !== payload);
        expectRefused(verifyQuietly(verifier(), forged), forged, ['malformed', 'bad_signature']);
      }),
      { numRuns: 300 },
    );
  });

  it('a better licence (any field changed, canonical JSON, old signature) is a bad_signature', () => {
    const upgrade = fc.oneof(
      fc.constantFrom(...TIER_IDS).map((tier) => ({ tier })),
      fc.integer({ min: 1, max: 1_000_000 }).map((seats) => ({ seats })),
      fc.integer({ min: T0 + 1, max: 8_000_000_000_000 }).map((expiresAt) => ({ expiresAt })),
      fc.integer({ min: 0, max: T0 }).map((issuedAt) => ({ issuedAt })),
      fc.constantFrom('Evil Corp', 'Acme Ltd', 'acme ltd').map((organisation) => ({ organisation })),
      fc.stringMatching(/^[A-Za-z0-9]{1,20}$/).map((id) => ({ id })),
      fc.dictionary(fc.constantFrom(...FEATURES), fc.boolean()).map((features) => ({ features })),
    );
    fc.assert(
      fc.property(licenceFields, upgrade, (fields, change) => {
        const genuine = issueLicence(fields, key);
        const [kid, payload, signature] = genuine.split('.') as [string, string, string];
        const licence = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
        const changed = canonicalJson({ ...licence, ...change });
        fc.pre(changed !== Buffer.from(payload, 'base64url').toString('utf8'));
        const forged = `${kid}.${encodeBase64url(Buffer.from(changed, 'utf8'))}.${signature}`;
        const result = verifyQuietly(verifier(), forged);
        // A change that breaks a field rule (expiry before issue, a reserved id) is malformed; a
        // well-formed better licence is stopped by the signature alone.
        expectRefused(result, forged, decodeLicenceKey(forged).ok ? ['bad_signature'] : ['malformed']);
      }),
      { numRuns: 300 },
    );
  });

  it('signature bytes changed, borrowed from another licence, or made by an impostor key are bad_signature', () => {
    fc.assert(
      fc.property(licenceFields, licenceFields, fc.nat(63), fc.integer({ min: 1, max: 255 }), (a, b, at, mask) => {
        const genuine = issueLicence(a, key);
        const [kid, payload, signature] = genuine.split('.') as [string, string, string];
        const flipped = Buffer.from(signature, 'base64url');
        flipped[at]! ^= mask;
        const borrowed = issueLicence(b, key).split('.')[2]!;
        const impostor = issueLicence(a, other);
        const forgeries = [`${kid}.${payload}.${encodeBase64url(flipped)}`, impostor];
        if (borrowed !== signature) forgeries.push(`${kid}.${payload}.${borrowed}`);
        for (const forged of forgeries) expectRefused(verifyQuietly(verifier(), forged), forged, ['bad_signature']);
      }),
      { numRuns: 200 },
    );
  });

  it('anything at all (not a string, random text, key-shaped text) is refused as malformed, never thrown', () => {
    const keyShaped = fc.tuple(fc.string({ maxLength: 70 }), fc.string({ maxLength: 300 }), fc.string({ maxLength: 90 })).map((parts) => parts.join('.'));
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.string({ unit: 'binary', maxLength: 3_000 }), keyShaped), (input) => {
        const result = verifyQuietly(verifier(), input);
        expectRefused(result, input, ['malformed', 'unknown_key']);
      }),
      { numRuns: 500 },
    );
  });
});
