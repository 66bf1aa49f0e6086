import { isIPv4, isIPv6 } from 'node:net';
import type { JsonValue } from './json-value.ts';

/** What redacted text is replaced with; the kind stays visible so analytics can still count it. */
export const REDACTED = {
  email: '[REDACTED:email]',
  card: '[REDACTED:card]',
  ip: '[REDACTED:ip]',
  key: '[REDACTED]',
} as const;

/**
 * Property names whose values are always withheld, whatever they hold. A key matches when its name,
 * lower-cased with everything but letters and digits removed, contains one of these words, so
 * `dbPassword`, `X-Api-Key` and `refresh_token` all match.
 */
export const DEFAULT_REDACTED_KEYS: readonly string[] = [
  'password',
  'passwd',
  'secret',
  'token',
  'apikey',
  'authorization',
  'cookie',
  'privatekey',
  'cardnumber',
  'cvv',
  'iban',
  'ssn',
];

export interface RedactionOptions {
  /** More key names to withhold (matched like {@link DEFAULT_REDACTED_KEYS}). */
  readonly keys?: readonly string[];
  /**
   * Nesting deeper than this becomes `"[TRUNCATED]"`.
   * @default 8
   */
  readonly maxDepth?: number;
  /**
   * Longer strings are cut (after redaction) and end in `…`.
   * @default 1024
   */
  readonly maxStringLength?: number;
}

// An e-mail address: a dot-atom local part, then a domain of at least two labels.
const EMAIL = /[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)+/g;
// Candidates only; node:net decides. Not preceded or followed by what would make them part of a word.
const IPV6_CANDIDATE = /(?<![0-9A-Za-z_:.])[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*:[0-9A-Fa-f:.]*(?![0-9A-Za-z_])/g;
const IPV4_CANDIDATE = /(?<![0-9A-Za-z_.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9A-Za-z_]|\.\d)/g;
// 13 to 19 digits, optionally grouped by single spaces or hyphens, not glued to other digits.
const CARD_CANDIDATE = /(?<![0-9])\d(?:[ -]?\d){12,18}(?![0-9])/g;

/**
 * The Luhn (mod 10) check digit test that every payment card number passes.
 * @param digits only the digits, no separators
 */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/**
 * Card-like: 13–19 digits, first digit 2–6 (the ranges of the major card networks), passing Luhn.
 * The first-digit rule keeps 13-digit millisecond timestamps (which start with 1) from being
 * mistaken for cards one time in ten.
 */
export function isCardLike(digits: string): boolean {
  return digits.length >= 13 && digits.length <= 19 && /^[2-6]/.test(digits) && luhnValid(digits);
}

function redactIpv6(candidate: string): string | undefined {
  // A sentence may end right after an address ("failed at fe80::1."), so retry without trailing
  // dots and colons; "2001:db8::" itself is valid and is tried first.
  for (let text = candidate; text.length > 0; text = text.slice(0, -1)) {
    if (isIPv6(text)) return REDACTED.ip + candidate.slice(text.length);
    if (!/[.:]$/.test(text)) return undefined;
  }
  return undefined;
}

/**
 * Replaces e-mail addresses, IPv6 and IPv4 addresses and card-like numbers in a string.
 * Order matters: e-mail first (an address may contain an IP literal), IPv6 before IPv4 (so
 * `::ffff:192.0.2.1` goes as one), cards last.
 */
export function redactString(text: string): string {
  return text
    .replace(EMAIL, REDACTED.email)
    .replace(IPV6_CANDIDATE, (candidate) => redactIpv6(candidate) ?? candidate)
    .replace(IPV4_CANDIDATE, (candidate) => (isIPv4(candidate) ? REDACTED.ip : candidate))
    .replace(CARD_CANDIDATE, (candidate) => (isCardLike(candidate.replace(/[ -]/g, '')) ? REDACTED.card : candidate));
}

function normaliseKey(key: string): string {
  return key.toLowerCase().replace(/[^a-z0-9]/g, '');
}

/**
 * Makes a redactor for event properties: a deep copy that is plain JSON, with personal data
 * replaced. Keys are redacted as text too (a key can be an e-mail address). Values that JSON cannot
 * carry are converted (`Date` → ISO string, `bigint` → string, `Map` → object, `Set` → array,
 * `Error` → `{ name, message }`) or dropped (functions, symbols, `undefined`); binary data becomes
 * `"[BINARY]"`, cycles `"[CIRCULAR]"`, non-finite numbers `null`.
 *
 * @example
 * const redact = createRedactor({ keys: ['customerName'] });
 * redact({ contact: 'ann@example.com', customerName: 'Ann' });
 * // → { contact: '[REDACTED:email]', customerName: '[REDACTED]' }
 */
export function createRedactor(options: RedactionOptions = {}): (properties: Readonly<Record<string, unknown>>) => Record<string, JsonValue> {
  const words = [...DEFAULT_REDACTED_KEYS, ...(options.keys ?? [])].map(normaliseKey).filter((word) => word !== '');
  const maxDepth = options.maxDepth ?? 8;
  const maxStringLength = options.maxStringLength ?? 1024;
  const sensitive = (key: string): boolean => {
    const normalised = normaliseKey(key);
    return words.some((word) => normalised.includes(word));
  };
  const text = (value: string): string => {
    const redacted = redactString(value);
    return redacted.length > maxStringLength ? `${redacted.slice(0, maxStringLength)}…` : redacted;
  };

  const object = (entries: Iterable<[string, unknown]>, depth: number, ancestors: Set<object>): Record<string, JsonValue> => {
    const out: Record<string, JsonValue> = {};
    for (const [key, child] of entries) {
      const safeKey = text(key);
      if (sensitive(key)) {
        out[safeKey] = REDACTED.key;
        continue;
      }
      const converted = value(child, depth + 1, ancestors);
      if (converted !== undefined) out[safeKey] = converted;
    }
    return out;
  };

  const value = (input: unknown, depth: number, ancestors: Set<object>): JsonValue | undefined => {
    switch (typeof input) {
      case 'string':
        return text(input);
      case 'number':
        if (!Number.isFinite(input)) return null;
        return Number.isInteger(input) && isCardLike(String(Math.abs(input))) ? REDACTED.card : input;
      case 'bigint': {
        const digits = (input < 0n ? -input : input).toString();
        return isCardLike(digits) ? REDACTED.card : input.toString();
      }
      case 'boolean':
        return input;
      case 'undefined':
      case 'function':
      case 'symbol':
        return undefined;
    }
    if (input === null) return null;
    if (depth > maxDepth) return '[TRUNCATED]';
    const node = input as object;
    if (ancestors.has(node)) return '[CIRCULAR]';
    if (node instanceof Date) return Number.isNaN(node.getTime()) ? null : node.toISOString();
    if (ArrayBuffer.isView(node) || node instanceof ArrayBuffer) return '[BINARY]';
    ancestors.add(node);
    try {
      if (Array.isArray(node)) return node.map((item) => value(item, depth + 1, ancestors) ?? null);
      if (node instanceof Set) return [...node].map((item) => value(item, depth + 1, ancestors) ?? null);
      if (node instanceof Map) {
        return object([...node].map(([key, child]) => [String(key), child] as [string, unknown]), depth, ancestors);
      }
      if (node instanceof Error) return object([['name', node.name], ['message', node.message]], depth, ancestors);
      return object(Object.entries(node), depth, ancestors);
    } finally {
      ancestors.delete(node);
    }
  };

  return (properties) => object(Object.entries(properties), 0, new Set([properties]));
}
