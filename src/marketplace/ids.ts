/**
 * Identifiers that cross the boundary (event ids, customer ids, payment ids, template ids…).
 *
 * One charset for all of them: it is safe in Redis keys, URLs, file names and log lines, and it
 * cannot spell a prototype-pollution key (`__proto__` starts with `_`; `constructor` and
 * `prototype` are excluded explicitly) so ids can be used as keys of plain records.
 */

/**
 * A safe id: 1–128 characters, starting with a letter or digit, then letters, digits, `.`, `_`,
 * `:` or `-`; never `constructor` or `prototype`.
 */
export const SAFE_ID_PATTERN = /^(?!(?:constructor|prototype)$)[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;

/** Maximum length of a {@link SAFE_ID_PATTERN safe id}. */
export const SAFE_ID_MAX_LENGTH = 128;

/** Keys refused anywhere in untrusted input: they can reach and modify `Object.prototype`. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** True when `value` is a string matching {@link SAFE_ID_PATTERN}. */
export function isSafeId(value: unknown): value is string {
  return typeof value === 'string' && SAFE_ID_PATTERN.test(value);
}

/**
 * Own-property lookup in a record keyed by untrusted strings.
 *
 * `record[key]` would find `Object.prototype.constructor` for the key `"constructor"`; this never
 * looks past the record itself.
 * @internal
 */
export function getOwn<V>(record: Readonly<Record<string, V>>, key: string): V | undefined {
  return Object.hasOwn(record, key) ? record[key] : undefined;
}
