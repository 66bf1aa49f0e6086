import { createHmac, randomBytes } from 'node:crypto';
import { TelemetrySecretError } from './errors.ts';

/** The shortest secret accepted: 128 bits. */
const MIN_SECRET_BYTES = 16;

/**
 * Domain separation: the same installation secret could one day key other HMACs, and a token made
 * for one purpose must not match a token made for another.
 */
const ORGANISATION_CONTEXT = 'governor.telemetry.organisation\0';

/**
 * Makes a per-installation telemetry secret: 32 random bytes, base64url. Generate it once when an
 * installation is set up and keep it (config file, Redis, a Kubernetes Secret); a new secret makes
 * every organisation look new.
 */
export function generateInstallationSecret(): string {
  return randomBytes(32).toString('base64url');
}

/**
 * Returns a function mapping an organisation id to its anonymous token: HMAC-SHA256 keyed with the
 * installation secret, hex. A plain hash of a guessable id (a customer number, a domain) can be
 * reversed by hashing candidates; without the secret the token cannot.
 *
 * @throws TelemetrySecretError when the secret is shorter than 16 bytes.
 * @example
 * const anonymise = createAnonymiser(process.env.GOVERNOR_TELEMETRY_SECRET!);
 * anonymise('acme-corp'); // → '3f1c…' (64 hex characters, stable for this secret)
 */
export function createAnonymiser(secret: string | Uint8Array): (organisation: string) => string {
  const key = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret);
  if (key.length < MIN_SECRET_BYTES) throw new TelemetrySecretError(key.length);
  return (organisation) =>
    createHmac('sha256', key).update(ORGANISATION_CONTEXT).update(organisation, 'utf8').digest('hex');
}
