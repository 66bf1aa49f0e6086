import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { decodeLicenceKey, issueLicence, MAX_LICENCE_KEY_LENGTH, type LicenceFields } from '../../src/marketplace/licence-key.ts';
import { LicenceVerifier } from '../../src/marketplace/licence-verifier.ts';
import {
  addPublicKey,
  emptyKeyring,
  exportSigningKeySeed,
  generateSigningKey,
  removePublicKey,
  rotateKeyring,
  signingKeyFromSeed,
} from '../../src/marketplace/signing-keys.ts';
import { canonicalJson } from '../../src/marketplace/canonical-json.ts';
import { FEATURES, TIER_IDS } from '../../src/marketplace/tiers.ts';
import { InvalidArgumentError, InvalidKeyMaterialError } from '../../src/marketplace/errors.ts';

const DAY = 86_400_000;
const T0 = Date.parse('2025-03-01T00:00:00Z');

function seeded(byte: number) {
  return () => new Uint8Array(32).fill(byte);
}

const key = generateSigningKey('k2025', { random: seeded(1) });
const keyring = addPublicKey(emptyKeyring(), key);

const fields: LicenceFields = {
  id: 'lic-0001',
  organisation: 'Acme Ltd',
  tier: 'professional',
  seats: 25,
  issuedAt: T0,
  expiresAt: T0 + 365 * DAY,
  features: { sso: true },
};

function verifierAt(time: { t: number }, options: Partial<ConstructorParameters<typeof LicenceVerifier>[0]> = {}) {
  return new LicenceVerifier({ keyring, now: () => time.t, ...options });
}

const licenceFields = fc.record({
  id: fc.stringMatching(/^[A-Za-z0-9][A-Za-z0-9._:-]{0,40}$/).filter((s) => s !== 'constructor' && s !== 'prototype'),
  // eslint-disable-next-line no-control-regex -- the issuer refuses control characters
  organisation: fc.string({ minLength: 1, maxLength: 60 }).filter((s) => !/[\u0000-\u001f\u007f]/.test(s)),
  tier: fc.constantFrom(...TIER_IDS),
  seats: fc.integer({ min: 1, max: 1_000_000 }),
  issuedAt: fc.integer({ min: 0, max: 4_000_000_000_000 }),
  lifetime: fc.integer({ min: 1, max: 10 * 365 * DAY }),
  features: fc.dictionary(fc.constantFrom(...FEATURES), fc.boolean()),
}).map(({ lifetime, ...rest }): LicenceFields => ({ ...rest, expiresAt: rest.issuedAt + lifetime }));

describe('issuing and verifying', () => {
  it('verifies a freshly issued licence and returns every field', () => {
    const text = issueLicence(fields, key);
    expect(text.startsWith('k2025.')).toBe(true);
    expect(text.split('.')).toHaveLength(3);
    const result = verifierAt({ t: T0 + DAY }).verify(text);
    expect(result).toEqual({ ok: true, cached: false, licence: { ...fields, v: 1, kid: 'k2025' } });
  });

  it('verify(sign(x)) = x for generated licences', () => {
    fc.assert(
      fc.property(licenceFields, (f) => {
        const result = verifierAt({ t: f.issuedAt }).verify(issueLicence(f, key));
        expect(result.ok).toBe(true);
        if (result.ok) expect(result.licence).toEqual({ ...f, features: f.features, v: 1, kid: key.kid });
      }),
    );
  });

  it('refuses to issue invalid licences, naming the field', () => {
    expect(() => issueLicence({ ...fields, seats: 0 }, key)).toThrow(InvalidArgumentError);
    expect(() => issueLicence({ ...fields, expiresAt: fields.issuedAt }, key)).toThrow(/licence\.expiresAt/);
    expect(() => issueLicence({ ...fields, id: 'bad id' }, key)).toThrow(/licence\.id/);
    expect(() => issueLicence({ ...fields, organisation: 'a\nb' }, key)).toThrow(/organisation/);
    expect(() => issueLicence({ ...fields, features: { telepathy: true } as never }, key)).toThrow(InvalidArgumentError);
  });
});

describe('rejections', () => {
  const text = issueLicence(fields, key);

  it('any single-byte change of a valid key is rejected', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.=+/ \u00e9';
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: text.length - 1 }),
        fc.constantFrom(...alphabet.split('')),
        (position, replacement) => {
          fc.pre(text[position] !== replacement);
          const tampered = text.slice(0, position) + replacement + text.slice(position + 1);
          const result = verifierAt({ t: T0 + DAY }).verify(tampered);
          expect(result.ok).toBe(false);
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('rejects every exhaustive last-character variant (non-canonical base64url padding bits)', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    for (const c of alphabet) {
      if (c === text.at(-1)) continue;
      expect(verifierAt({ t: T0 + DAY }).verify(text.slice(0, -1) + c).ok).toBe(false);
    }
  });

  it('the expiry cannot be removed or changed without detection', () => {
    const [kid, payload, signature] = text.split('.') as [string, string, string];
    const licence = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    fc.assert(
      fc.property(fc.option(fc.integer({ min: fields.issuedAt + 1, max: 8_000_000_000_000 }), { nil: undefined }), (expiresAt) => {
        fc.pre(expiresAt !== fields.expiresAt);
        const forged = { ...licence, expiresAt };
        const forgedKey = `${kid}.${Buffer.from(canonicalJson(forged)).toString('base64url')}.${signature}`;
        const result = verifierAt({ t: T0 + DAY }).verify(forgedKey);
        expect(result.ok).toBe(false);
        if (!result.ok) expect(result.reason).toBe(expiresAt === undefined ? 'malformed' : 'bad_signature');
      }),
    );
  });

  it('bad_signature for a licence signed by an impostor key using a trusted key id', () => {
    const impostor = generateSigningKey('k2025', { random: seeded(2) });
    const result = verifierAt({ t: T0 + DAY }).verify(issueLicence(fields, impostor));
    expect(result).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('unknown_key for a key id the keyring lacks', () => {
    const other = generateSigningKey('k2030', { random: seeded(3) });
    const result = verifierAt({ t: T0 + DAY }).verify(issueLicence(fields, other));
    expect(result).toMatchObject({ ok: false, reason: 'unknown_key' });
    if (!result.ok) expect(result.message).toMatch(/k2030/);
  });

  it('expired at exactly expiresAt, valid one millisecond before', () => {
    expect(verifierAt({ t: fields.expiresAt - 1 }).verify(text).ok).toBe(true);
    expect(verifierAt({ t: fields.expiresAt }).verify(text)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('not_yet_valid beyond the clock tolerance', () => {
    expect(verifierAt({ t: T0 - 60_000 }).verify(text).ok).toBe(true);
    expect(verifierAt({ t: T0 - 600_000 }).verify(text)).toMatchObject({ ok: false, reason: 'not_yet_valid' });
    expect(verifierAt({ t: T0 - 1 }, { clockToleranceMs: 0 }).verify(text)).toMatchObject({ reason: 'not_yet_valid' });
  });

  it('clock_rollback when time goes back past the latest time seen, also across restarts', () => {
    const time = { t: T0 + 10 * DAY };
    const verifier = verifierAt(time);
    expect(verifier.verify(text).ok).toBe(true);
    time.t -= 60_000; // within tolerance: ordinary skew
    expect(verifier.verify(text).ok).toBe(true);
    time.t = T0 + 2 * DAY; // someone set the clock back to dodge the expiry
    expect(verifier.verify(text)).toMatchObject({ ok: false, reason: 'clock_rollback' });
    const restarted = verifierAt(time, { lastSeenAt: verifier.lastSeenAt });
    expect(restarted.verify(text)).toMatchObject({ ok: false, reason: 'clock_rollback' });
    time.t = T0 + 11 * DAY;
    expect(verifier.verify(text).ok).toBe(true);
  });

  it.each([
    ['not a string', 42],
    ['empty', ''],
    ['two parts', 'a.b'],
    ['four parts', 'a.b.c.d'],
    ['bad kid', '__proto__.eyJ9.AAAA'],
    ['padding', `${text}==`],
    ['huge', 'k2025.' + 'A'.repeat(MAX_LICENCE_KEY_LENGTH)],
    ['short signature', `${text.split('.').slice(0, 2).join('.')}.AAAA`],
    ['payload not JSON', `k2025.${Buffer.from('nope').toString('base64url')}.${text.split('.')[2]}`],
    ['payload invalid UTF-8', `k2025.${Buffer.from([0xff, 0xfe]).toString('base64url')}.${text.split('.')[2]}`],
    ['payload prototype pollution', `k2025.${Buffer.from('{"__proto__":{"admin":true}}').toString('base64url')}.${text.split('.')[2]}`],
    ['null', null],
    ['object', { toString: () => text }],
  ])('malformed: %s', (_name, input) => {
    const result = verifierAt({ t: T0 + DAY }).verify(input);
    expect(result).toMatchObject({ ok: false, reason: 'malformed' });
    expect(({} as Record<string, unknown>).admin).toBeUndefined();
  });

  it('malformed for a non-canonical but otherwise valid payload, and for a kid mismatch', () => {
    const [kid, payload, signature] = text.split('.') as [string, string, string];
    const json = Buffer.from(payload, 'base64url').toString('utf8');
    const spaced = `${kid}.${Buffer.from(json.replace(':', ': ')).toString('base64url')}.${signature}`;
    expect(decodeLicenceKey(spaced)).toMatchObject({ ok: false, reason: 'malformed', message: /canonical/ });
    const other = addPublicKey(keyring, generateSigningKey('other', { random: seeded(9) }));
    const moved = `other.${payload}.${signature}`;
    expect(new LicenceVerifier({ keyring: other, now: () => T0 }).verify(moved)).toMatchObject({
      reason: 'malformed',
      message: /does not match/,
    });
  });
});

describe('cache', () => {
  const text = issueLicence(fields, key);

  it('caches by the whole key for one hour, rechecking dates on every hit', () => {
    const time = { t: T0 + DAY };
    const verifier = verifierAt(time);
    expect(verifier.verify(text)).toMatchObject({ ok: true, cached: false });
    expect(verifier.verify(text)).toMatchObject({ ok: true, cached: true });
    time.t += 3_600_000 - 1;
    expect(verifier.verify(text)).toMatchObject({ ok: true, cached: true });
    time.t += 1;
    expect(verifier.verify(text)).toMatchObject({ ok: true, cached: false });

    const shortLived = issueLicence({ ...fields, id: 'lic-short', expiresAt: time.t + 1_000 }, key);
    expect(verifier.verify(shortLived)).toMatchObject({ ok: true });
    time.t += 1_000;
    expect(verifier.verify(shortLived)).toMatchObject({ ok: false, reason: 'expired' });
  });

  it('never lets a different key with the same licence id ride on a cached entry', () => {
    const verifier = verifierAt({ t: T0 + DAY });
    expect(verifier.verify(text).ok).toBe(true);
    const [kid, payload] = text.split('.') as [string, string, string];
    const forgedSig = Buffer.alloc(64, 7).toString('base64url');
    expect(verifier.verify(`${kid}.${payload}.${forgedSig}`)).toMatchObject({ ok: false, reason: 'bad_signature' });
    const enterprise = { ...JSON.parse(Buffer.from(payload, 'base64url').toString()), tier: 'enterprise' };
    const forged = `${kid}.${Buffer.from(canonicalJson(enterprise)).toString('base64url')}.${text.split('.')[2]}`;
    expect(verifier.verify(forged)).toMatchObject({ ok: false, reason: 'bad_signature' });
  });

  it('is bounded and cleared when the keyring changes', () => {
    const verifier = verifierAt({ t: T0 + DAY }, { maxCacheEntries: 2 });
    for (let i = 0; i < 5; i += 1) verifier.verify(issueLicence({ ...fields, id: `lic-${i}` }, key));
    expect(verifier.cacheSize).toBe(2);
    verifier.setKeyring(removePublicKey(keyring, 'k2025'));
    expect(verifier.cacheSize).toBe(0);
    expect(verifier.verify(text)).toMatchObject({ ok: false, reason: 'unknown_key' });
  });
});

describe('keys and rotation', () => {
  it('generation is deterministic given the randomness, and seeds round-trip', () => {
    expect(generateSigningKey('a', { random: seeded(5) }).publicKey).toBe(generateSigningKey('b', { random: seeded(5) }).publicKey);
    const restored = signingKeyFromSeed('k2025', Buffer.from(exportSigningKeySeed(key), 'base64url'));
    expect(restored.publicKey).toBe(key.publicKey);
    expect(verifierAt({ t: T0 }).verify(issueLicence(fields, restored)).ok).toBe(true);
  });

  it('after rotation, old licences still verify and new ones use the new key', () => {
    const next = generateSigningKey('k2026', { random: seeded(6) });
    const rotated = rotateKeyring(keyring, next);
    expect(rotated.keys.k2025?.status).toBe('retired');
    expect(rotated.keys.k2026?.status).toBe('active');
    const verifier = new LicenceVerifier({ keyring: rotated, now: () => T0 + DAY });
    expect(verifier.verify(issueLicence(fields, key)).ok).toBe(true);
    expect(verifier.verify(issueLicence(fields, next)).ok).toBe(true);
    expect(new LicenceVerifier({ keyring: removePublicKey(rotated, 'k2025'), now: () => T0 }).verify(issueLicence(fields, key)))
      .toMatchObject({ reason: 'unknown_key' });
  });

  it('refuses bad key ids and key material', () => {
    expect(() => generateSigningKey('__proto__')).toThrow(InvalidArgumentError);
    expect(() => generateSigningKey('a.b')).toThrow(InvalidArgumentError);
    expect(() => signingKeyFromSeed('a', new Uint8Array(31))).toThrow(InvalidKeyMaterialError);
    expect(() => addPublicKey(emptyKeyring(), { kid: 'a', publicKey: 'AAAA' })).toThrow(InvalidKeyMaterialError);
    const other = generateSigningKey('k2025', { random: seeded(8) });
    expect(() => addPublicKey(keyring, other)).toThrow(/already names another public key/);
  });
});
