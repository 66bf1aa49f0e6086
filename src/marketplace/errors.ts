import { GovernorError } from '../errors.ts';

/**
 * Errors thrown by the marketplace domain library.
 *
 * Only programming mistakes throw (a value our own code should never produce, key material that is
 * not Ed25519, a licence issued with invalid fields). Everything a caller should expect — a
 * rejected event, an expired licence, a duplicate template version, a tampered receipt — is
 * returned as a result instead.
 */

/** A value cannot be given a canonical JSON encoding (non-finite number, cycle, class instance…). */
export class CanonicalEncodingError extends GovernorError {
  constructor(readonly path: string, detail: string) {
    super(
      'CANONICAL_ENCODING',
      `cannot canonically encode the value at ${path}: ${detail}; ` +
        `pass plain JSON data only (objects, arrays, strings, finite numbers, booleans, null)`,
    );
  }
}

/** A money amount or quantity is not an exact decimal string of the expected shape. */
export class InvalidAmountError extends GovernorError {
  constructor(readonly what: string, readonly value: unknown, expected: string) {
    super(
      'INVALID_AMOUNT',
      `${what} must be ${expected}, got ${describe(value)}; ` +
        `pass amounts as decimal strings such as "99.00" (never binary floating-point numbers)`,
    );
  }
}

/** Key material is missing, of the wrong algorithm, or of the wrong length. */
export class InvalidKeyMaterialError extends GovernorError {
  constructor(detail: string, options?: { cause?: unknown }) {
    super('INVALID_KEY_MATERIAL', `invalid Ed25519 key material: ${detail}`, options);
  }
}

/** An argument to a domain function breaks its documented contract. */
export class InvalidArgumentError extends GovernorError {
  constructor(readonly argument: string, detail: string) {
    super('INVALID_ARGUMENT', `${argument}: ${detail}`);
  }
}

/** A short, safe description of an offending value for error messages (never the whole value). */
export function describe(value: unknown, max = 60): string {
  let text: string;
  if (typeof value === 'string') text = JSON.stringify(value);
  else if (typeof value === 'number' || typeof value === 'boolean' || value === null || value === undefined) {
    text = String(value);
  } else if (typeof value === 'bigint') text = `${value}n`;
  else if (Array.isArray(value)) text = `an array of ${value.length}`;
  else text = `a ${typeof value}`;
  return text.length > max ? `${text.slice(0, max)}…` : text;
}
