import { describe, it, expect } from 'vitest';
import fc from 'fast-check';
import { parseLifecycleEvent, parseLifecycleEventJson } from '../../src/marketplace/event-validation.ts';
import { LIFECYCLE_EVENT_TYPES, MAX_EVENT_BYTES } from '../../src/marketplace/event-schema.ts';
import { validEvent } from './event-examples.ts';

describe('hostile input at the event door', () => {
  it.each(['__proto__', 'constructor', 'prototype'])('refuses the key %s at the top level and deep inside', (key) => {
    const top = JSON.parse(`{"type":"RenewalDue","${key}":{"polluted":true}}`);
    expect(parseLifecycleEvent(top)).toMatchObject({ ok: false, issues: [{ rule: 'forbidden_key', path: `$.${key}` }] });
    const deep = JSON.parse(`{"type":"RenewalDue","a":[{"b":{"${key}":1}}]}`);
    expect(parseLifecycleEventJson(JSON.stringify(deep))).toMatchObject({
      ok: false,
      issues: [{ rule: 'forbidden_key', path: `$.a[0].b.${key}` }],
    });
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('refuses non-finite numbers anywhere, naming where', () => {
    for (const bad of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      expect(parseLifecycleEvent(validEvent('UsageExceedsQuota', { usage: bad }))).toMatchObject({
        ok: false,
        issues: [{ path: '$.usage', rule: 'finite' }],
      });
    }
  });

  it('refuses values JSON cannot hold', () => {
    class Event {
      type = 'RenewalDue';
    }
    const cases: Array<[unknown, string, string]> = [
      [validEvent('RenewalDue', { subscriptionId: 1n }), '$.subscriptionId', 'not_json'],
      [validEvent('RenewalDue', { subscriptionId: () => 's' }), '$.subscriptionId', 'not_json'],
      [validEvent('RenewalDue', { subscriptionId: Symbol('s') }), '$.subscriptionId', 'not_json'],
      [validEvent('RenewalDue', { occurredAt: new Date() }), '$.occurredAt', 'not_json'],
      [new Event(), '$', 'not_json'],
      [{ ...validEvent('RenewalDue'), [Symbol('x')]: 1 }, '$', 'not_json'],
      [validEvent('RenewalDue', { list: [1, undefined] }), '$.list[1]', 'not_json'],
    ];
    for (const [input, path, rule] of cases) {
      expect(parseLifecycleEvent(input)).toMatchObject({ ok: false, issues: [{ path, rule }] });
    }
  });

  it('refuses cycles, deep nesting and throwing getters or proxies without throwing', () => {
    const cyclic: Record<string, unknown> = validEvent('RenewalDue');
    cyclic.self = cyclic;
    expect(parseLifecycleEvent(cyclic)).toMatchObject({ ok: false, issues: [{ path: '$.self', rule: 'circular' }] });

    let deep: unknown = 'x';
    for (let i = 0; i < 50; i += 1) deep = { d: deep };
    expect(parseLifecycleEvent(validEvent('RenewalDue', { nested: deep }))).toMatchObject({ ok: false, issues: [{ rule: 'max_depth' }] });

    const getter = Object.defineProperty(validEvent('RenewalDue'), 'subscriptionId', {
      enumerable: true,
      get() {
        throw new Error('boom');
      },
    });
    expect(parseLifecycleEvent(getter)).toMatchObject({ ok: false, issues: [{ path: '$', rule: 'unreadable' }] });

    const proxy = new Proxy(validEvent('RenewalDue'), {
      ownKeys() {
        throw new Error('trap');
      },
    });
    expect(parseLifecycleEvent(proxy)).toMatchObject({ ok: false, issues: [{ rule: 'unreadable' }] });
  });

  it('reads a getter once: the event is validated on a copy', () => {
    let reads = 0;
    const input = Object.defineProperty(validEvent('RenewalDue'), 'subscriptionId', {
      enumerable: true,
      get() {
        reads += 1;
        return reads === 1 ? 'sub-ok' : 'not ok!';
      },
    });
    const result = parseLifecycleEvent(input);
    expect(result).toMatchObject({ ok: true, event: { subscriptionId: 'sub-ok' } });
    expect(reads).toBe(1);
  });

  it(`refuses payloads over ${MAX_EVENT_BYTES} bytes, as text before parsing and as values`, () => {
    const justUnder = validEvent('RenewalDue', { padding: '' });
    const room = MAX_EVENT_BYTES - Buffer.byteLength(JSON.stringify(justUnder));
    const fits = JSON.stringify({ ...justUnder, padding: 'a'.repeat(room) });
    expect(Buffer.byteLength(fits)).toBe(MAX_EVENT_BYTES);
    // it is refused for its unknown field, not for its size
    expect(parseLifecycleEventJson(fits)).toMatchObject({ ok: false, issues: [{ rule: 'unknown_field' }] });
    const over = JSON.stringify({ ...justUnder, padding: 'a'.repeat(room + 1) });
    expect(parseLifecycleEventJson(over)).toMatchObject({ ok: false, issues: [{ path: '$', rule: 'max_size' }] });
    expect(parseLifecycleEvent(JSON.parse(over))).toMatchObject({ ok: false, issues: [{ rule: 'max_size' }] });
    // multi-byte characters count as bytes, not as UTF-16 units
    const euros = JSON.stringify({ ...justUnder, padding: '€'.repeat(Math.ceil(room / 3) + 1) });
    expect(euros.length).toBeLessThan(MAX_EVENT_BYTES);
    expect(parseLifecycleEventJson(euros)).toMatchObject({ ok: false, issues: [{ rule: 'max_size' }] });
    const wide = Array.from({ length: 20_000 }, () => 0);
    expect(parseLifecycleEvent(validEvent('RenewalDue', { wide }))).toMatchObject({ ok: false, issues: [{ rule: 'max_size' }] });
  });

  it('refuses text that is not JSON or not text', () => {
    expect(parseLifecycleEventJson('{"type":')).toMatchObject({ ok: false, issues: [{ rule: 'not_json' }] });
    expect(parseLifecycleEventJson(42 as unknown as string)).toMatchObject({ ok: false, issues: [{ rule: 'type' }] });
  });

  it('property: arbitrary values and arbitrary JSON text never throw and always give a well-formed result', () => {
    fc.assert(
      fc.property(fc.oneof(fc.anything(), fc.jsonValue(), fc.constantFrom(...LIFECYCLE_EVENT_TYPES).map((t) => validEvent(t))), (value) => {
        const result = parseLifecycleEvent(value);
        if (result.ok) {
          expect(LIFECYCLE_EVENT_TYPES).toContain(result.event.type);
        } else {
          expect(result.issues.length).toBeGreaterThan(0);
          for (const issue of result.issues) {
            expect(issue.path.startsWith('$')).toBe(true);
            expect(typeof issue.rule).toBe('string');
            expect(issue.message.length).toBeGreaterThan(0);
          }
        }
      }),
      { numRuns: 500 },
    );
    fc.assert(
      fc.property(fc.string(), (text) => {
        expect(() => parseLifecycleEventJson(text)).not.toThrow();
      }),
    );
  });

  it('property: a valid event with one field replaced by garbage is refused, never crashes', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...LIFECYCLE_EVENT_TYPES),
        fc.nat(),
        fc.oneof(fc.constant(null), fc.integer(), fc.double(), fc.constant(''), fc.array(fc.nat()), fc.object(), fc.constant(' '.repeat(3))),
        (type, index, garbage) => {
          const event = validEvent(type);
          const keys = Object.keys(event);
          const key = keys[index % keys.length]!;
          const result = parseLifecycleEvent({ ...event, [key]: garbage });
          if (result.ok) {
            // the only garbage a field may accept is a value of its own type, e.g. a number for `usage`
            expect(typeof (result.event as Record<string, unknown>)[key]).toBe(typeof garbage);
          } else {
            expect(result.issues.some((i) => i.path === `$.${key}` || i.path.startsWith(`$.${key}`))).toBe(true);
          }
        },
      ),
    );
  });
});
