import type { core, z } from 'zod';
import { hasLoneSurrogate } from '../unicode.ts';
import { FORBIDDEN_KEYS } from './ids.ts';
import { LifecycleEventSchema, MAX_EVENT_BYTES, MAX_EVENT_DEPTH, type LifecycleEvent } from './event-schema.ts';

/**
 * Validation of untrusted lifecycle events at the door. Never throws: every problem comes back
 * as an issue naming the field, the rule broken and the offending value (truncated).
 *
 * Steps, in order:
 * 1. (JSON text only) size in bytes, then `JSON.parse`;
 * 2. a copy into plain JSON data, refusing what JSON cannot hold or what is hostile: keys
 *    `__proto__` / `constructor` / `prototype` at any depth, non-finite numbers, bigints,
 *    functions, symbols, class instances, cycles, throwing getters or proxies, nesting deeper than
 *    {@link MAX_EVENT_DEPTH}, strings and keys that are not well-formed Unicode (a lone surrogate
 *    becomes U+FFFD in UTF-8, so two different ids would be one in Redis); validation continues on the copy, so the caller's object is read once;
 * 3. the serialized size against {@link MAX_EVENT_BYTES};
 * 4. the event's strict schema (unknown fields refused).
 */

/** The rules an issue can name. */
export type EventIssueRule =
  | 'not_json'
  | 'forbidden_key'
  | 'finite'
  | 'circular'
  | 'unreadable'
  | 'well_formed'
  | 'max_depth'
  | 'max_size'
  | 'required'
  | 'type'
  | 'integer'
  | 'unknown_field'
  | 'unknown_event_type'
  | 'enum'
  | 'pattern'
  | 'format'
  | 'positive'
  | 'min_length'
  | 'max_length'
  | 'minimum'
  | 'maximum'
  | 'idempotency_key_reused'
  | 'invalid';

/** One problem with an event. */
export interface EventValidationIssue {
  /** Where: `$` is the event, `$.amount` a field, `$.tags[2]` an array item. */
  readonly path: string;
  readonly rule: EventIssueRule;
  /** What is wrong and what is expected, for people. */
  readonly message: string;
  /** The offending value as JSON, cut to 64 characters; absent when the field is missing. */
  readonly value?: string;
}

/** The outcome of {@link parseLifecycleEvent}. */
export type EventParseResult =
  | { readonly ok: true; readonly event: LifecycleEvent }
  | { readonly ok: false; readonly issues: readonly EventValidationIssue[] };

const MAX_NODES = 10_000;
const MAX_ISSUES = 20;
const PREVIEW_LENGTH = 64;

/**
 * Validates an event given as JSON text. The byte length is checked before parsing, so an
 * oversize payload costs no parse.
 * @example
 * const result = parseLifecycleEventJson(line);
 * if (!result.ok) for (const i of result.issues) console.error(`${i.path}: ${i.message}`);
 */
export function parseLifecycleEventJson(text: string): EventParseResult {
  if (typeof text !== 'string') return fail('$', 'type', 'an event must be given as JSON text', text);
  // A UTF-8 character is at most 3 bytes per UTF-16 code unit: skip the exact count when it cannot matter.
  if (text.length * 3 > MAX_EVENT_BYTES && Buffer.byteLength(text, 'utf8') > MAX_EVENT_BYTES) {
    return fail('$', 'max_size', `an event is at most ${MAX_EVENT_BYTES} bytes of UTF-8 JSON`, undefined);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return fail('$', 'not_json', `not valid JSON: ${(error as Error).message}`, undefined);
  }
  return parseLifecycleEvent(value);
}

/**
 * Validates an event given as a value (e.g. already-parsed JSON, or an object built in process).
 * @example
 * const result = parseLifecycleEvent({ type: 'RenewalDue', eventId: 'e-1', customerId: 'c-1',
 *   occurredAt: '2025-03-01T00:00:00Z', subscriptionId: 'sub-1' });
 * if (result.ok) route(result.event);
 */
export function parseLifecycleEvent(input: unknown): EventParseResult {
  const parsed = parseJsonValue(LifecycleEventSchema, input, 'event');
  return parsed.ok ? { ok: true, event: parsed.value } : parsed;
}

/**
 * Steps 2 to 4 of {@link parseLifecycleEvent} with another strict schema (one that holds an
 * event, e.g. the Orchestrator's `lifecycle` message): the same JSON checks, size limit and issue
 * format, so what holds an event is validated exactly as the event alone is.
 * @internal
 */
export function parseJsonValue<T>(schema: z.ZodType<T>, input: unknown, what: string): { ok: true; value: T } | { ok: false; issues: readonly EventValidationIssue[] } {
  const scan: Scan = { issues: [], nodes: 0, ancestors: new Set() };
  const copy = copyJson(input, '$', 0, scan);
  if (scan.issues.length > 0) return { ok: false, issues: scan.issues };
  const bytes = Buffer.byteLength(JSON.stringify(copy), 'utf8');
  if (bytes > MAX_EVENT_BYTES) {
    return { ok: false, issues: [issue('$', 'max_size', `the ${what} is ${bytes} bytes of JSON; the limit is ${MAX_EVENT_BYTES}`, undefined)] };
  }
  const parsed = schema.safeParse(copy);
  if (parsed.success) return { ok: true, value: parsed.data };
  const issues = parsed.error.issues.flatMap((issue) => fromZod(issue, copy)).slice(0, MAX_ISSUES);
  return { ok: false, issues };
}

interface Scan {
  issues: EventValidationIssue[];
  nodes: number;
  ancestors: Set<object>;
}

const ABSENT = Symbol('absent');

function copyJson(value: unknown, path: string, depth: number, scan: Scan): unknown {
  if (scan.issues.length >= MAX_ISSUES) return ABSENT;
  scan.nodes += 1;
  if (scan.nodes > MAX_NODES) {
    if (!scan.issues.some((i) => i.rule === 'max_size')) {
      scan.issues.push(issue(path, 'max_size', `more than ${MAX_NODES} values: an event is a small flat object`, undefined));
    }
    return ABSENT;
  }
  switch (typeof value) {
    case 'string':
      if (!hasLoneSurrogate(value)) return value;
      scan.issues.push(issue(path, 'well_formed', 'must be well-formed Unicode: it contains a lone surrogate, which UTF-8 cannot encode', value));
      return ABSENT;
    case 'boolean':
      return value;
    case 'number':
      if (Number.isFinite(value)) return value;
      scan.issues.push(issue(path, 'finite', 'numbers must be finite (no NaN or Infinity)', value));
      return ABSENT;
    case 'object':
      break;
    default:
      scan.issues.push(issue(path, 'not_json', `${typeof value} is not JSON data`, value));
      return ABSENT;
  }
  if (value === null) return null;
  if (depth >= MAX_EVENT_DEPTH) {
    scan.issues.push(issue(path, 'max_depth', `nesting deeper than ${MAX_EVENT_DEPTH} levels`, undefined));
    return ABSENT;
  }
  if (scan.ancestors.has(value)) {
    scan.issues.push(issue(path, 'circular', 'the value contains itself', undefined));
    return ABSENT;
  }
  scan.ancestors.add(value);
  try {
    if (Array.isArray(value)) {
      const out: unknown[] = [];
      for (let i = 0; i < value.length; i += 1) {
        const item: unknown = value[i];
        if (item === undefined) {
          scan.issues.push(issue(`${path}[${i}]`, 'not_json', 'undefined is not JSON data', undefined));
          continue;
        }
        out.push(copyJson(item, `${path}[${i}]`, depth + 1, scan));
      }
      return out;
    }
    // Any realm's Object.prototype (as json-data.ts): an object typed in the REPL is made in its
    // vm context, whose Object.prototype is not this one; a class instance's prototype has a parent.
    const proto = Object.getPrototypeOf(value) as object | null;
    if (Object.prototype.toString.call(value) !== '[object Object]' || (proto !== null && Object.getPrototypeOf(proto) !== null)) {
      scan.issues.push(issue(path, 'not_json', 'must be a plain JSON object, not a class instance', undefined));
      return ABSENT;
    }
    if (Object.getOwnPropertySymbols(value).length > 0) {
      scan.issues.push(issue(path, 'not_json', 'symbol keys are not JSON data', undefined));
      return ABSENT;
    }
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value)) {
      const childPath = joinPath(path, key);
      if (FORBIDDEN_KEYS.has(key)) {
        scan.issues.push(issue(childPath, 'forbidden_key', `the key "${key}" is refused anywhere in an event`, undefined));
        continue;
      }
      if (hasLoneSurrogate(key)) {
        scan.issues.push(issue(childPath, 'well_formed', 'the key must be well-formed Unicode: it contains a lone surrogate', undefined));
        continue;
      }
      const item: unknown = (value as Record<string, unknown>)[key];
      if (item === undefined) continue; // as JSON.stringify: an undefined property is an absent one
      out[key] = copyJson(item, childPath, depth + 1, scan);
    }
    return out;
  } catch (error) {
    scan.issues.push(issue(path, 'unreadable', `reading the value threw: ${String((error as Error)?.message ?? error)}`, undefined));
    return ABSENT;
  } finally {
    scan.ancestors.delete(value);
  }
}

function fromZod(zodIssue: core.$ZodIssue, root: unknown): EventValidationIssue[] {
  const path = formatPath(zodIssue.path);
  const at = valueAt(root, zodIssue.path);
  switch (zodIssue.code) {
    case 'unrecognized_keys':
      return zodIssue.keys.map((key) =>
        issue(joinPath(path, key), 'unknown_field', `unknown field "${key}": remove it or check its spelling`, valueAt(root, [...zodIssue.path, key])),
      );
    case 'invalid_union': {
      // zod adds `discriminator` and `options` to a discriminated union's issue; its types omit them.
      const union = zodIssue as typeof zodIssue & { discriminator?: string; options?: readonly unknown[] };
      if (union.discriminator !== undefined) {
        return at === ABSENT
          ? [issue(path, 'required', `the field "${union.discriminator}" is required`, undefined)]
          : [issue(path, 'unknown_event_type', `unknown event type; expected one of ${(union.options ?? []).join(', ')}`, at)];
      }
      // A plain union: zod already reports the branch of the value's own type, so reaching here
      // means the type matches no branch. Name the types that would.
      const expected = [...new Set(zodIssue.errors.map((branch) => (branch[0] as { expected?: unknown } | undefined)?.expected))];
      const names = expected.filter((e): e is string => typeof e === 'string');
      return [issue(path, 'type', names.length > 0 ? `must be a ${names.join(' or a ')}` : zodIssue.message, at)];
    }
    case 'invalid_type':
      if (at === ABSENT) return [issue(path, 'required', `the field is required (${zodIssue.expected})`, undefined)];
      if (zodIssue.expected === 'int') return [issue(path, 'integer', 'must be an integer', at)];
      return [issue(path, 'type', `must be ${zodIssue.expected === 'object' ? 'an object' : `a ${zodIssue.expected}`}`, at)];
    case 'invalid_value':
      return [issue(path, 'enum', `must be one of ${zodIssue.values.map((v) => JSON.stringify(v)).join(', ')}`, at)];
    case 'invalid_format':
      return [issue(path, zodIssue.format === 'regex' ? 'pattern' : 'format', zodIssue.message, at)];
    case 'too_small':
      return [
        issue(
          path,
          zodIssue.origin === 'string' ? 'min_length' : 'minimum',
          zodIssue.origin === 'string' ? `must not be shorter than ${String(zodIssue.minimum)} characters` : `must be ≥ ${String(zodIssue.minimum)}`,
          at,
        ),
      ];
    case 'too_big':
      return [
        issue(
          path,
          zodIssue.origin === 'string' ? 'max_length' : 'maximum',
          zodIssue.origin === 'string' ? `must not be longer than ${String(zodIssue.maximum)} characters` : `must be ≤ ${String(zodIssue.maximum)}`,
          at,
        ),
      ];
    case 'custom': {
      const rule = (zodIssue.params as { rule?: unknown } | undefined)?.rule;
      return [issue(path, rule === 'positive' ? 'positive' : 'invalid', zodIssue.message, at)];
    }
    default:
      return [issue(path, 'invalid', zodIssue.message, at)];
  }
}

function issue(path: string, rule: EventIssueRule, message: string, value: unknown): EventValidationIssue {
  const shown = preview(value);
  return shown === undefined ? { path, rule, message: `${path}: ${message}` } : { path, rule, message: `${path}: ${message}`, value: shown };
}

function fail(path: string, rule: EventIssueRule, message: string, value: unknown): EventParseResult {
  return { ok: false, issues: [issue(path, rule, message, value)] };
}

/** The offending value as short JSON-like text; never throws, never long. */
function preview(value: unknown): string | undefined {
  if (value === ABSENT || value === undefined) return undefined;
  let text: string;
  try {
    if (typeof value === 'number' || typeof value === 'bigint') text = String(value);
    else if (typeof value === 'string') text = JSON.stringify(value.length > PREVIEW_LENGTH ? value.slice(0, PREVIEW_LENGTH) : value);
    else if (value === null || typeof value === 'boolean') text = String(value);
    else if (Array.isArray(value)) text = `[array of ${value.length}]`;
    else if (typeof value === 'object') text = '{object}';
    else text = `<${typeof value}>`;
  } catch {
    text = '<unreadable>';
  }
  return text.length > PREVIEW_LENGTH ? `${text.slice(0, PREVIEW_LENGTH)}…` : text;
}

function valueAt(root: unknown, path: readonly PropertyKey[]): unknown {
  let current: unknown = root;
  for (const key of path) {
    if (current === null || typeof current !== 'object' || typeof key === 'symbol') return ABSENT;
    if (!Object.hasOwn(current, key)) return ABSENT;
    current = (current as Record<string | number, unknown>)[key];
  }
  return current;
}

function formatPath(path: readonly PropertyKey[]): string {
  return path.reduce<string>((acc, key) => (typeof key === 'number' ? `${acc}[${key}]` : joinPath(acc, String(key))), '$');
}

function joinPath(base: string, key: string): string {
  return /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key) ? `${base}.${key}` : `${base}[${JSON.stringify(key)}]`;
}
