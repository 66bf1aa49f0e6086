import { sha256Hex } from './canonical-json.ts';
import { InvalidArgumentError } from './errors.ts';
import { decodeLicenceKey, type Licence } from './licence-key.ts';
import { findPublicKey, verifyBytes, type PublicKeyring } from './signing-keys.ts';

/**
 * Offline licence verification with public keys only, clock-rollback detection and a cache.
 *
 * Order of checks: malformed → unknown_key → bad_signature → clock_rollback → not_yet_valid →
 * expired. The cache only skips the signature check: dates and the clock are checked on every
 * call, so a cached licence still expires on time.
 */

/** Why a licence key was refused. */
export type LicenceRejectionReason =
  | 'malformed'
  | 'unknown_key'
  | 'bad_signature'
  | 'clock_rollback'
  | 'not_yet_valid'
  | 'expired';

/** The outcome of {@link LicenceVerifier.verify}. */
export type LicenceVerification =
  | { readonly ok: true; readonly licence: Licence; readonly cached: boolean }
  | { readonly ok: false; readonly reason: LicenceRejectionReason; readonly message: string };

/** Options of {@link LicenceVerifier}. */
export interface LicenceVerifierOptions {
  /** Trusted public keys by key id. */
  readonly keyring: PublicKeyring;
  /** Current time in epoch ms. @default Date.now */
  readonly now?: () => number;
  /** How long a verified signature is remembered, in ms. @default 3_600_000 (1 h) */
  readonly cacheTtlMs?: number;
  /** Most cached licences kept; the oldest entry goes first. @default 10_000 */
  readonly maxCacheEntries?: number;
  /**
   * Clock skew tolerated, in ms: a licence issued up to this far in the future is accepted, and the
   * clock may step back this far without being called a rollback. @default 300_000 (5 min)
   */
  readonly clockToleranceMs?: number;
  /**
   * The latest time a previous verifier instance saw (persist {@link LicenceVerifier.lastSeenAt}),
   * so a rollback across restarts is caught too. @default 0
   */
  readonly lastSeenAt?: number;
}

/** Default cache lifetime of a verified licence: one hour. */
export const LICENCE_CACHE_TTL_MS = 3_600_000;

interface CacheEntry {
  readonly licence: Licence;
  readonly until: number;
}

/**
 * Verifies licence keys.
 * @example
 * const verifier = new LicenceVerifier({ keyring });
 * const result = verifier.verify(keyString);
 * if (!result.ok) console.error(result.reason, result.message);
 */
export class LicenceVerifier {
  #keyring: PublicKeyring;
  readonly #now: () => number;
  readonly #ttl: number;
  readonly #maxEntries: number;
  readonly #tolerance: number;
  #lastSeenAt: number;
  // Keyed by SHA-256 of the whole key string: a different key with the same licence id never
  // hits another key's entry (the seeds' cache validated any key that presented a cached id).
  readonly #cache = new Map<string, CacheEntry>();

  constructor(options: LicenceVerifierOptions) {
    this.#keyring = options.keyring;
    this.#now = options.now ?? Date.now;
    this.#ttl = nonNegative('cacheTtlMs', options.cacheTtlMs ?? LICENCE_CACHE_TTL_MS);
    this.#maxEntries = nonNegative('maxCacheEntries', options.maxCacheEntries ?? 10_000);
    this.#tolerance = nonNegative('clockToleranceMs', options.clockToleranceMs ?? 300_000);
    this.#lastSeenAt = options.lastSeenAt ?? 0;
  }

  /** The latest time seen; persist it and pass it back as `lastSeenAt` after a restart. */
  get lastSeenAt(): number {
    return this.#lastSeenAt;
  }

  /** Number of licences currently cached. */
  get cacheSize(): number {
    return this.#cache.size;
  }

  /** Replaces the trusted keys (after a rotation or revocation); clears the cache. */
  setKeyring(keyring: PublicKeyring): void {
    this.#keyring = keyring;
    this.#cache.clear();
  }

  /** Verifies `key`; never throws. */
  verify(key: unknown): LicenceVerification {
    const now = this.#now();
    const digest = typeof key === 'string' ? sha256Hex(key) : undefined;
    let licence: Licence;
    let cached = false;
    const hit = digest === undefined ? undefined : this.#cache.get(digest);
    if (hit && hit.until > now && findPublicKey(this.#keyring, hit.licence.kid)) {
      licence = hit.licence;
      cached = true;
    } else {
      if (hit && digest !== undefined) this.#cache.delete(digest);
      const decoded = decodeLicenceKey(key);
      if (!decoded.ok) return decoded;
      const entry = findPublicKey(this.#keyring, decoded.licence.kid);
      if (!entry) {
        return reject('unknown_key', `no trusted public key has id "${decoded.licence.kid}": add it to the keyring`);
      }
      if (!verifyBytes(entry.publicKey, decoded.message, decoded.signature)) {
        return reject('bad_signature', 'the signature does not match the licence: the key was altered or forged');
      }
      licence = decoded.licence;
    }
    const timeCheck = this.#checkTime(licence, now);
    if (timeCheck) return timeCheck;
    if (!cached && digest !== undefined && this.#maxEntries > 0 && this.#ttl > 0) this.#remember(digest, licence, now);
    return { ok: true, licence, cached };
  }

  #checkTime(licence: Licence, now: number): LicenceVerification | undefined {
    if (now < this.#lastSeenAt - this.#tolerance) {
      return reject(
        'clock_rollback',
        `the clock reads ${iso(now)}, before ${iso(this.#lastSeenAt)} already seen: fix the system clock`,
      );
    }
    this.#lastSeenAt = Math.max(this.#lastSeenAt, now);
    if (licence.issuedAt > now + this.#tolerance) {
      return reject('not_yet_valid', `the licence is valid from ${iso(licence.issuedAt)}; it is ${iso(now)}`);
    }
    if (now >= licence.expiresAt) {
      return reject('expired', `the licence expired at ${iso(licence.expiresAt)}: renew it`);
    }
    return undefined;
  }

  #remember(digest: string, licence: Licence, now: number): void {
    if (this.#cache.size >= this.#maxEntries) {
      const oldest = this.#cache.keys().next();
      if (!oldest.done) this.#cache.delete(oldest.value);
    }
    this.#cache.set(digest, { licence, until: now + this.#ttl });
  }
}

function reject(reason: LicenceRejectionReason, message: string): LicenceVerification {
  return { ok: false, reason, message };
}

function iso(ms: number): string {
  const date = new Date(ms);
  return Number.isNaN(date.getTime()) ? String(ms) : date.toISOString();
}

function nonNegative(name: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new InvalidArgumentError(name, `must be a finite number ≥ 0, got ${value}`);
  return value;
}
