/**
 * Strict base64url (RFC 4648 §5, no padding).
 *
 * `Buffer.from(text, 'base64url')` silently skips characters outside the alphabet and ignores the
 * unused low bits of the last character, so several different strings decode to the same bytes.
 * For signed keys that would let a modified key verify; this decoder accepts only the one
 * canonical spelling of each byte string.
 */

const ALPHABET = /^[A-Za-z0-9_-]*$/;

/** Encodes bytes as unpadded base64url. */
export function encodeBase64url(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64url');
}

/** Decodes canonical unpadded base64url, or returns `undefined` for any other spelling. */
export function decodeBase64url(text: string): Buffer | undefined {
  if (!ALPHABET.test(text) || text.length % 4 === 1) return undefined;
  const bytes = Buffer.from(text, 'base64url');
  return bytes.toString('base64url') === text ? bytes : undefined;
}
