/**
 * The `enqueue` door, fuzzed: `parseLifecycleEvent` / `parseLifecycleEventJson` and the CLI's
 * `checkJsonEvent` / `checkNdjson` (what `governor enqueue` runs before anything reaches Redis).
 *
 * - a valid event of any type round-trips: accepted, equal to what was given, as a value and as
 *   JSON text, and within the producer's job limits (the door never passes what BullMQ refuses);
 * - a valid event with one field made invalid (wrong type, NaN/Infinity, absurd amounts, far or
 *   impossible dates, lone surrogates, `__proto__`/`constructor` keys, a missing field) is refused
 *   with an issue naming that field;
 * - arbitrary values and text never make the door throw; every issue is well formed; whatever is
 *   accepted passes an independent check of the rules, and is a copy the caller cannot change.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { checkJsonEvent, checkNdjson, checkNdjsonBytes } from '../../src/cli/enqueue/events.ts';
import { messageIdOf } from '../../src/cli/enqueue/producer.ts';
import { EVENT_AMOUNT_PATTERN, LIFECYCLE_EVENT_SCHEMAS, LIFECYCLE_EVENT_TYPES, MAX_EVENT_BYTES } from '../../src/marketplace/event-schema.ts';
import { parseLifecycleEvent, parseLifecycleEventJson, type EventParseResult } from '../../src/marketplace/event-validation.ts';
import { FORBIDDEN_KEYS, SAFE_ID_PATTERN } from '../../src/marketplace/ids.ts';
import { METRICS } from '../../src/marketplace/pricing.ts';
import { TIER_IDS } from '../../src/marketplace/tiers.ts';
import { hasLoneSurrogate } from '../../src/unicode.ts';
import { checkJobDataLimits, JOB_FORMAT_VERSION } from '../../src/transport/bullmq/job-format.ts';
import { HOSTILE_STRINGS } from '../fixtures/hostile/corpus.ts';

type Event = Record<string, unknown> & { type: string };

// ── valid events ─────────────────────────────────────────────────────────────────────────────

const chars = (text: string) => [...text];
const LETTERS = chars('ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz');
const DIGITS = chars('0123456789');
const ALNUM = [...LETTERS, ...DIGITS];
const word = (first: string[], rest: string[], maxLength: number) =>
  fc.tuple(fc.constantFrom(...first), fc.string({ unit: fc.constantFrom(...rest), maxLength })).map(([a, b]) => a + b);

const safeId = word(ALNUM, [...ALNUM, '.', '_', ':', '-'], 127).filter((id) => id !== 'constructor' && id !== 'prototype');
const skuId = word(ALNUM, [...ALNUM, '-'], 63);
const resource = word(chars('abcdefghijklmnopqrstuvwxyz'), chars('abcdefghijklmnopqrstuvwxyz0123456789_'), 63);
const digits = (minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...DIGITS), minLength, maxLength });
/** Up to 15 integer digits, up to 4 decimals, greater than zero. */
const amount = fc
  .tuple(fc.oneof(fc.constant('0'), word(chars('123456789'), DIGITS, 14)), fc.option(digits(1, 4)))
  .map(([int, frac]) => (frac === null ? int : `${int}.${frac}`))
  .filter((a) => /[1-9]/.test(a));
const currency = fc.string({ unit: fc.constantFrom(...chars('ABCDEFGHIJKLMNOPQRSTUVWXYZ')), minLength: 3, maxLength: 3 });
// From 2000 (the schema's first year) to now (no occurredAt may be far ahead of the validating
// clock); written as toISOString does, or without the milliseconds.
const timestamp = fc
  .tuple(fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date(), noInvalidDate: true }), fc.boolean())
  .map(([date, millis]) => (millis ? date.toISOString() : date.toISOString().replace(/\.\d{3}Z$/, 'Z')));
// eslint-disable-next-line no-control-regex -- control characters are what the rule refuses
const text = fc.string({ unit: 'grapheme', minLength: 1, maxLength: 80 }).filter((t) => !/[\u0000-\u001f\u007f]/.test(t) && t.length <= 1_000);
// Below 10^15, the bound of quantities, usage and limits.
const nonNegative = fc.oneof(fc.nat(), fc.double({ min: 0, max: 1e15, maxExcluded: true, noNaN: true, noDefaultInfinity: true })).filter((n) => !Object.is(n, -0));
const decimal = fc.tuple(fc.oneof(fc.constant('0'), word(chars('123456789'), DIGITS, 14)), fc.option(digits(1, 30))).map(([i, f]) => (f === null ? i : `${i}.${f}`));
const version = fc.tuple(fc.nat(9_999), fc.nat(9_999), fc.nat(9_999), fc.option(word(LETTERS, ALNUM, 8))).map(([a, b, c, pre]) => `${a}.${b}.${c}${pre ? `-${pre}` : ''}`);
const itemKind = fc.constantFrom('sku', 'template');

const envelope = { eventId: safeId, customerId: safeId, occurredAt: timestamp };
const typed = <T extends string>(type: T, fields: Record<string, fc.Arbitrary<unknown>>, optional: string[] = []) =>
  fc.record({ type: fc.constant(type), ...envelope, ...fields }, { requiredKeys: ['type', 'eventId', 'customerId', 'occurredAt', ...Object.keys(fields).filter((f) => !optional.includes(f))] as never }) as fc.Arbitrary<Event>;

/** A valid event of every type, with every field drawn from its whole valid range. */
const validEvent: fc.Arbitrary<Event> = fc.oneof(
  typed('CustomerSubscribes', { sku: skuId, tier: fc.constantFrom(...TIER_IDS) }),
  typed('CustomerUpgrades', { fromSku: skuId, toSku: skuId }),
  typed('PaymentProcessed', { amount, currency, paymentId: safeId }),
  typed('PaymentFailed', { reason: text, paymentId: safeId }),
  typed('UsageExceedsQuota', { resource, usage: nonNegative, limit: nonNegative }),
  typed('CustomerCancels', { reason: text }, ['reason']),
  typed('ManualSuspension', { reason: text, actor: safeId }),
  typed('RenewalDue', { subscriptionId: safeId }),
  typed('UsageRecorded', { metric: fc.constantFrom(...METRICS), quantity: fc.oneof(nonNegative, decimal), idempotencyKey: safeId }),
  typed('CatalogPublish', { itemKind, itemId: safeId, version }),
  typed('CatalogDeprecate', { itemKind, itemId: safeId, version, reason: text }, ['version']),
  typed('CatalogReprice', { itemKind, itemId: safeId, price: amount, currency, effectiveAt: timestamp }),
);

// ── invalid by construction ──────────────────────────────────────────────────────────────────

const NOT_JSON: unknown[] = [null, [], {}, true, 12n, () => 1, Symbol('s'), new Date(0), NaN, Infinity, -Infinity, new Map()];
const BAD_STRINGS: unknown[] = ['', 12, 0, '\ud800', 'a\udfffb', 'x\u0000y', 'line\nbreak', 'x'.repeat(1_001)];
const BAD_AMOUNTS = ['NaN', 'Infinity', '-Infinity', '1e309', '1e3', '-1.00', '0', '0.00', '0x10', '1234567890123456', '1.23456', ' 1.00', '1.', '.5', '１２', '99999999999999999999999999999999.99'];
const BAD_DATES = ['+275760-09-13T00:00:00.000Z', '-000001-01-01T00:00:00Z', '2026-02-30T00:00:00Z', '2026-13-01T00:00:00Z', '2026-01-01', '2026-01-01T00:00:00', '2026-01-01T23:59:60Z', '2026-01-01T00:00:00+25:00', 'now', '1767225600000', ''];
const BAD_NUMBERS: unknown[] = [-1, -1e-300, '5', NaN, Infinity, -Infinity, 10n];

const AMOUNT_FIELDS = new Set(['amount', 'price']);
const DATE_FIELDS = new Set(['occurredAt', 'effectiveAt']);
const NUMBER_FIELDS = new Set(['usage', 'limit']);

/** Values refused for a field, whatever the event type. */
function badValuesFor(field: string): unknown[] {
  if (field === 'quantity') return [...NOT_JSON, -1, '-1', '1e3', '', '\ud800', 1e15, 1e308, '1000000000000000'];
  if (NUMBER_FIELDS.has(field)) return [...NOT_JSON, ...BAD_NUMBERS, 1e15, 1e308];
  const strings = [...NOT_JSON, ...BAD_STRINGS];
  if (AMOUNT_FIELDS.has(field)) return [...strings, ...BAD_AMOUNTS];
  if (DATE_FIELDS.has(field)) return [...strings, ...BAD_DATES, '0001-01-01T00:00:00Z', '1999-12-31T23:59:59Z', '9999-12-31T23:59:59Z'];
  if (field === 'type') return [...strings, ...HOSTILE_STRINGS.filter((s) => !(LIFECYCLE_EVENT_TYPES as readonly string[]).includes(s))];
  return strings;
}

type Mutation = { readonly label: string; readonly field: string; readonly apply: (event: Event) => Record<string, unknown> };

/** One change that makes a valid event invalid, and the field an issue must name. */
const mutation = (event: Event): fc.Arbitrary<Mutation> => {
  const fields = Object.keys(event);
  const optional = new Set(['reason', 'version']);
  const required = fields.filter((f) => !(optional.has(f) && (event.type === 'CustomerCancels' || event.type === 'CatalogDeprecate')));
  return fc.oneof(
    fc.constantFrom(...fields).chain((field) =>
      fc.constantFrom(...badValuesFor(field)).map((value) => ({ label: `${field} = ${String(typeof value === 'symbol' ? 'symbol' : typeof value === 'bigint' ? `${value}n` : JSON.stringify(value))}`, field, apply: (e: Event) => ({ ...e, [field]: value }) })),
    ),
    fc.constantFrom(...required).map((field) => ({ label: `without ${field}`, field, apply: (e: Event) => Object.fromEntries(Object.entries(e).filter(([k]) => k !== field)) })),
    fc.tuple(fc.constantFrom('__proto__', 'constructor', 'prototype', 'admin', 'Type', 'eventid', '\ud800'), fc.constantFrom<unknown>({ isAdmin: true }, 'x', 1, null)).map(([key, value]) => ({
      label: `with an extra key ${JSON.stringify(key)}`,
      field: key,
      // defineProperty: an own "__proto__" key, as JSON.parse makes it, not a prototype change.
      apply: (e: Event) => Object.defineProperty({ ...e }, key, { value, enumerable: true, configurable: true, writable: true }),
    })),
  );
};

// ── the independent check of what was accepted ───────────────────────────────────────────────

const ISSUE_RULES = new Set(['not_json', 'forbidden_key', 'finite', 'circular', 'unreadable', 'well_formed', 'max_depth', 'max_size', 'required', 'type', 'integer', 'unknown_field', 'unknown_event_type', 'enum', 'pattern', 'format', 'positive', 'min_length', 'max_length', 'minimum', 'maximum', 'invalid']);

function expectWellFormedResult(result: EventParseResult): void {
  if (result.ok) {
    expectValidByRules(result.event as unknown as Event);
    return;
  }
  expect(result.issues.length).toBeGreaterThan(0);
  for (const issue of result.issues) {
    expect(issue.path).toMatch(/^\$/);
    expect(ISSUE_RULES.has(issue.rule), issue.rule).toBe(true);
    expect(issue.message.startsWith(issue.path)).toBe(true);
    if (issue.value !== undefined) expect(issue.value.length).toBeLessThanOrEqual(65);
  }
}

/** The rules of the door, written out again (not the schema's code): what any accepted event must satisfy. */
function expectValidByRules(event: Event): void {
  expect(Object.getPrototypeOf(event)).toBe(Object.prototype);
  expect((LIFECYCLE_EVENT_TYPES as readonly string[]).includes(event.type)).toBe(true);
  const allowed = Object.keys(LIFECYCLE_EVENT_SCHEMAS[event.type as keyof typeof LIFECYCLE_EVENT_SCHEMAS].shape);
  for (const key of Object.keys(event)) {
    expect(allowed).toContain(key);
    expect(FORBIDDEN_KEYS.has(key)).toBe(false);
  }
  for (const id of ['eventId', 'customerId', 'paymentId', 'actor', 'subscriptionId', 'idempotencyKey', 'itemId']) {
    if (id in event) expect(event[id]).toMatch(SAFE_ID_PATTERN);
  }
  for (const field of DATE_FIELDS) if (field in event) expect(Number.isFinite(Date.parse(event[field] as string))).toBe(true);
  for (const field of AMOUNT_FIELDS) if (field in event) expect(event[field]).toMatch(EVENT_AMOUNT_PATTERN);
  for (const field of NUMBER_FIELDS) if (field in event) expect(Number.isFinite(event[field]) && (event[field] as number) >= 0).toBe(true);
  for (const value of Object.values(event)) {
    expect(['string', 'number'].includes(typeof value)).toBe(true);
    if (typeof value === 'string') expect(hasLoneSurrogate(value)).toBe(false);
  }
  expect(Buffer.byteLength(JSON.stringify(event))).toBeLessThanOrEqual(MAX_EVENT_BYTES);
}

/** The job the CLI would enqueue for an accepted event (as `enqueueEvents` builds it). */
const cliJob = (event: Event) => ({
  v: JOB_FORMAT_VERSION,
  id: messageIdOf(event as unknown as { customerId: string; eventId: string }),
  env: { t: 'cast', to: { entity: 'Orchestrator', key: event['customerId'] }, event: { type: 'lifecycle', event, receivedAt: Date.now() } },
});

const RUNS = { numRuns: 300 };

describe('the enqueue door, fuzzed', () => {
  it('a valid event of any type round-trips as a value, as JSON text and as NDJSON, within the job limits', () => {
    fc.assert(
      fc.property(validEvent, (event) => {
        const parsed = parseLifecycleEvent(event);
        expect(parsed.ok, JSON.stringify(parsed)).toBe(true);
        if (!parsed.ok) return;
        expect(parsed.event).toEqual(event);
        expect(parsed.event).not.toBe(event);
        const json = JSON.stringify(event);
        expect(parseLifecycleEventJson(json)).toEqual(parsed);
        expect(checkJsonEvent(json, 7)).toEqual({ ok: true, line: 7, event });
        expect(checkJobDataLimits(cliJob(parsed.event as unknown as Event))).toBeUndefined();
        // What the door gives back passes the door again, unchanged.
        expect(parseLifecycleEvent(JSON.parse(JSON.stringify(parsed.event)))).toEqual(parsed);
      }),
      RUNS,
    );
    fc.assert(
      fc.property(fc.array(validEvent, { minLength: 1, maxLength: 8 }), (events) => {
        const checked = checkNdjson(events.map((e) => JSON.stringify(e)).join('\r\n\n'));
        expect(checked).toEqual(events.map((event, i) => ({ ok: true, line: 2 * i + 1, event })));
      }),
      { numRuns: 50 },
    );
  });

  it('NDJSON bytes: UTF-8 reads as the text would; a line that is not UTF-8 is refused alone', () => {
    fc.assert(
      fc.property(fc.array(validEvent, { minLength: 1, maxLength: 6 }), fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 4 }), (events, at, junk) => {
        const text = events.map((e) => JSON.stringify(e)).join('\n');
        expect(checkNdjsonBytes(Buffer.from(`\uFEFF${text}`))).toEqual(checkNdjson(text));
        // Bytes 0x80-0xFF on their own are never UTF-8 (a lone continuation or an unfinished lead);
        // the junk after them must not hold a line break, which would make it a line of its own.
        const bad = at % events.length;
        const lines = events.map((e, i) => (i === bad ? Buffer.concat([Buffer.from(JSON.stringify(e).slice(0, -1)), Buffer.from([0xff, ...junk.map((b) => (b === 0x0a || b === 0x0d ? 0x80 : b))]), Buffer.from('}')]) : Buffer.from(JSON.stringify(e))));
        const checked = checkNdjsonBytes(Buffer.concat(lines.flatMap((l) => [l, Buffer.from('\n')])));
        expect(checked).toHaveLength(events.length);
        checked.forEach((c, i) => {
          expect(c.line).toBe(i + 1);
          if (i === bad) expect(c).toMatchObject({ ok: false, issues: [{ rule: 'not_json', message: expect.stringContaining('not valid UTF-8') }] });
          else expect(c).toEqual({ ok: true, line: i + 1, event: events[i] });
        });
      }),
      { numRuns: 100 },
    );
  });

  it('a valid event with one field made invalid is refused, naming the field', () => {
    fc.assert(
      fc.property(
        validEvent.chain((event) => mutation(event).map((m) => [event, m] as const)),
        ([event, m]) => {
          const hostile = m.apply(event);
          const result = parseLifecycleEvent(hostile);
          expect(result.ok, `${m.label} accepted`).toBe(false);
          if (result.ok) return;
          expectWellFormedResult(result);
          const named = result.issues.some((i) => i.path.includes(m.field) || i.path.includes(JSON.stringify(m.field)) || (m.field === 'type' && i.path === '$'));
          expect(named, `${m.label}: ${JSON.stringify(result.issues)}`).toBe(true);
          // As JSON text (where JSON can spell it): refused just the same.
          let json: string | undefined;
          try {
            json = JSON.stringify(hostile);
          } catch {
            json = undefined; // a bigint: no JSON text to send
          }
          // (The CLI fills in a missing eventId or occurredAt, so those two stay valid there.)
          const filledIn = m.label === 'without eventId' || m.label === 'without occurredAt';
          if (json !== undefined && !filledIn && !containsNonJson(hostile)) {
            expect(checkJsonEvent(json, 1).ok, `${m.label} accepted as JSON`).toBe(false);
          }
        },
      ),
      { numRuns: 1_000 },
    );
  });

  it('never throws on arbitrary values, JSON-ish objects or text; accepted means valid by the rules, and a copy', () => {
    const key = fc.oneof(fc.string(), fc.constantFrom('__proto__', 'constructor', 'prototype', 'type', 'eventId', 'amount', 'toString', 'valueOf'));
    const anything = fc.anything({ key, withBigInt: true, withDate: true, withMap: true, withSet: true, withTypedArray: true, withSparseArray: true, withNullPrototype: true, withObjectString: true, withBoxedValues: true, maxDepth: 4 });
    const nearlyValid = fc.tuple(validEvent, fc.string(), anything).map(([event, field, value]) => {
      const keys = Object.keys(event);
      const target = keys[field.length % keys.length]!;
      return field.length % 3 === 0 ? { ...event, [field]: value } : { ...event, [target]: value };
    });
    fc.assert(
      fc.property(fc.oneof(anything, nearlyValid, validEvent), (input) => {
        const result = parseLifecycleEvent(input);
        expectWellFormedResult(result);
        if (result.ok && typeof input === 'object' && input !== null) {
          // The caller's object is not the event: changing it afterwards changes nothing.
          const before = JSON.stringify(result.event);
          (input as Record<string, unknown>)['type'] = 'Tampered';
          expect(JSON.stringify(result.event)).toBe(before);
        }
      }),
      RUNS,
    );
    const jsonText = fc.oneof(
      fc.string(),
      fc.string({ unit: 'binary' }),
      fc.json(),
      // A valid event's text with a few characters changed, dropped or added.
      fc.tuple(validEvent, fc.array(fc.tuple(fc.nat(), fc.nat(2), fc.string({ unit: 'binary', maxLength: 2 })), { maxLength: 4 })).map(([event, edits]) => {
        let t = JSON.stringify(event);
        for (const [at, kind, s] of edits) {
          const i = at % (t.length + 1);
          t = kind === 0 ? t.slice(0, i) + s + t.slice(i) : kind === 1 ? t.slice(0, i) + t.slice(i + 1) : t.slice(0, i) + s + t.slice(i + s.length);
        }
        return t;
      }),
    );
    fc.assert(
      fc.property(jsonText, (t) => {
        expectWellFormedResult(parseLifecycleEventJson(t));
        const checked = checkJsonEvent(t, 3);
        expect(checked.line).toBe(3);
        if (checked.ok) expectValidByRules(checked.event as unknown as Event);
        for (const line of checkNdjson(`${t}\n${t}`)) if (line.ok) expectValidByRules(line.event as unknown as Event);
      }),
      RUNS,
    );
  });

  it('survives values that fight back: throwing getters, proxies, huge and deep input', () => {
    const getter = Object.defineProperty({ type: 'RenewalDue' }, 'subscriptionId', { enumerable: true, get: () => { throw new Error('boom'); } });
    const proxy = new Proxy({}, { ownKeys: () => { throw new Error('no keys'); }, get: () => { throw new Error('no get'); } });
    const revoked = Proxy.revocable({}, {});
    revoked.revoke();
    let deep: unknown = 'x';
    for (let i = 0; i < 100_000; i++) deep = [deep];
    for (const input of [getter, proxy, revoked.proxy, deep, { type: 'CustomerCancels', reason: 'x'.repeat(10_000_000) }, Array.from({ length: 1_000_000 }, () => 0)]) {
      const result = parseLifecycleEvent(input);
      expect(result.ok).toBe(false);
      expectWellFormedResult(result);
    }
    const deepText = `${'['.repeat(100_000)}${']'.repeat(100_000)}`;
    expect(parseLifecycleEventJson(deepText).ok).toBe(false);
    expect(checkJsonEvent(deepText, 1).ok).toBe(false);
  });
});

/** Values JSON text cannot carry as they are (JSON drops functions and symbols, turns NaN into null…). */
function containsNonJson(value: unknown): boolean {
  if (typeof value === 'function' || typeof value === 'symbol' || typeof value === 'bigint' || typeof value === 'undefined') return true;
  if (typeof value === 'number') return !Number.isFinite(value);
  if (typeof value !== 'object' || value === null) return false;
  if (Array.isArray(value)) return value.some(containsNonJson);
  if (Object.getPrototypeOf(value) !== Object.prototype) return true;
  return Object.values(value).some(containsNonJson);
}
