import { createHash } from 'node:crypto';
import { CanonicalEncodingError } from './errors.ts';

/**
 * The one canonical JSON encoding used wherever bytes are signed or hashed (licence keys, receipts,
 * SKU revisions): the same data always gives the same bytes, and different data never does.
 *
 * Rules (those of RFC 8785, JCS, for the values we allow):
 * - object keys sorted by UTF-16 code units, no whitespace;
 * - strings and numbers written as ECMAScript `JSON.stringify` writes them (`-0` becomes `0`);
 * - properties whose value is `undefined` are left out, as `JSON.stringify` does;
 * - refused (thrown as {@link CanonicalEncodingError}): non-finite numbers, `undefined` inside
 *   arrays, bigints, functions, symbols, cycles, nesting deeper than {@link CANONICAL_MAX_DEPTH},
 *   and any object that is not a plain object or array (a `Date`, a `Map`, a class instance):
 *   their JSON form depends on `toJSON` methods, which is how two parties end up signing
 *   different bytes for "the same" value.
 */
export function canonicalJson(value: unknown): string {
  return encode(value, '$', 0, new Set());
}

/** {@link canonicalJson} as UTF-8 bytes. */
export function canonicalBytes(value: unknown): Buffer {
  return Buffer.from(canonicalJson(value), 'utf8');
}

/** Lowercase hex SHA-256 of a string (as UTF-8) or of bytes. */
export function sha256Hex(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** SHA-256 of the canonical encoding of `value`, as 64 lowercase hex digits. */
export function canonicalDigest(value: unknown): string {
  return sha256Hex(canonicalJson(value));
}

/** Deepest nesting {@link canonicalJson} accepts; our signed structures are a few levels deep. */
export const CANONICAL_MAX_DEPTH = 64;

function encode(value: unknown, path: string, depth: number, ancestors: Set<object>): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'number':
      if (!Number.isFinite(value)) throw new CanonicalEncodingError(path, `${value} is not a finite number`);
      return JSON.stringify(value);
    case 'object':
      break;
    default:
      throw new CanonicalEncodingError(path, `a ${typeof value} has no JSON form`);
  }
  if (value === null) return 'null';
  if (depth >= CANONICAL_MAX_DEPTH) {
    throw new CanonicalEncodingError(path, `nesting deeper than ${CANONICAL_MAX_DEPTH} levels`);
  }
  if (ancestors.has(value)) throw new CanonicalEncodingError(path, 'the value contains a cycle');
  ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const parts = value.map((item, index) => {
        if (item === undefined) throw new CanonicalEncodingError(`${path}[${index}]`, 'undefined inside an array');
        return encode(item, `${path}[${index}]`, depth + 1, ancestors);
      });
      return `[${parts.join(',')}]`;
    }
    const proto: unknown = Object.getPrototypeOf(value);
    if (proto !== Object.prototype && proto !== null) {
      throw new CanonicalEncodingError(path, 'not a plain object');
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      throw new CanonicalEncodingError(path, 'symbol keys have no JSON form');
    }
    const record = value as Record<string, unknown>;
    const parts: string[] = [];
    // Default sort compares UTF-16 code units, which is exactly the JCS key order.
    for (const key of Object.keys(record).sort()) {
      const item = record[key];
      if (item === undefined) continue;
      parts.push(`${JSON.stringify(key)}:${encode(item, `${path}.${key}`, depth + 1, ancestors)}`);
    }
    return `{${parts.join(',')}}`;
  } finally {
    ancestors.delete(value);
  }
}
