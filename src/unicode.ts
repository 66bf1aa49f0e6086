/**
 * Well-formed Unicode for strings that become keys or ids outside the process.
 *
 * A JavaScript string is UTF-16 and may hold a lone surrogate (`"\uD800"`), which UTF-8 cannot
 * encode: Node writes U+FFFD in its place, so `"a\uD800"` and `"a\uDFFF"` become the same bytes
 * in Redis, in a hash and in a log. Two different customers would share one key. Strings that
 * name things outside the process are therefore refused when they are not well formed.
 *
 * (`String.prototype.isWellFormed` does the same; the regular expression keeps the rule explicit
 * and independent of the engine.)
 */

// With the `u` flag a surrogate pair is one code point, so `\p{Cs}` only matches a lone half.
const LONE_SURROGATE = /\p{Cs}/u;

/** True when `text` contains a lone (unpaired) surrogate, i.e. is not well-formed Unicode. */
export function hasLoneSurrogate(text: string): boolean {
  return LONE_SURROGATE.test(text);
}
