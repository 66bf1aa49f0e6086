/**
 * Lone surrogates in ids and keys: UTF-8 cannot encode them (Node writes U+FFFD instead), so
 * `"c-\uD800"` and `"c-\uDFFF"` would be one Redis key, one hash, one registered name. They are
 * refused at the two doors a customer id goes through: event validation and entity addressing.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLifecycleEvent } from '../../src/marketplace/event-validation.ts';
import { checkEntityAddress, InvalidEntityAddressError } from '../../src/runtime/entity.ts';
import { hasLoneSurrogate } from '../../src/unicode.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { checkJob } from '../../src/transport/bullmq/job-format.ts';

const LONE = ['\uD800', '\uDBFF', '\uDC00', '\uDFFF', 'a\uD800', '\uDFFFz', 'x\uDE00\uD83Dy', '\uD83D\uD83D'];
const PAIRED = ['\uD83D\uDE00', 'c-\uD83D\uDE00-1', '\u00e9', 'e\u0301', '日本', '\u{10FFFF}'];

describe('hasLoneSurrogate', () => {
  it('finds an unpaired half anywhere and accepts surrogate pairs', () => {
    for (const text of LONE) expect(hasLoneSurrogate(text), JSON.stringify(text)).toBe(true);
    for (const text of PAIRED) expect(hasLoneSurrogate(text), JSON.stringify(text)).toBe(false);
  });

  it('agrees with the engine: exactly the strings whose UTF-8 round trip changes them', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 12 }), (text) => {
        const roundTrip = Buffer.from(text, 'utf8').toString('utf8');
        expect(hasLoneSurrogate(text)).toBe(roundTrip !== text);
        // The engine's own check, where it has one (the rule above does not depend on it).
        if (typeof String.prototype.isWellFormed === 'function') expect(hasLoneSurrogate(text)).toBe(!text.isWellFormed());
      }),
      { numRuns: 500 },
    );
  });
});

describe('entity addresses', () => {
  it.each(LONE)('refuses the key %j with a reason naming the lone surrogate', (key) => {
    expect(() => checkEntityAddress({ entity: 'Billing', key })).toThrow(InvalidEntityAddressError);
    expect(() => checkEntityAddress({ entity: 'Billing', key })).toThrow(/well-formed Unicode.*lone surrogate/);
    // Every Redis key name of an entity goes through the same check.
    expect(() => new RedisKeys('{t}').state({ entity: 'Billing', key })).toThrow(InvalidEntityAddressError);
  });

  it('accepts well-formed keys outside the BMP and look-alikes stay distinct', () => {
    for (const key of PAIRED) expect(checkEntityAddress({ entity: 'Billing', key }).key).toBe(key);
    const keys = new RedisKeys('{t}');
    expect(keys.state({ entity: 'Billing', key: '\u00e9' })).not.toBe(keys.state({ entity: 'Billing', key: 'e\u0301' }));
  });

  it('a job addressed to a key with a lone surrogate is a bad job (dead-lettered), not a message', () => {
    const result = checkJob({ v: 1, env: { t: 'cast', to: { entity: 'Ledger', key: 'k\uD800' }, event: { type: 'apply' } } }, 'j-1');
    expect(result).toMatchObject({ ok: false, problem: expect.stringMatching(/lone surrogate/) });
  });
});

describe('event validation', () => {
  const valid = { eventId: 'evt-1', customerId: 'cust-1', occurredAt: '2026-01-01T00:00:00Z', type: 'PaymentFailed', reason: 'card declined', paymentId: 'pay-1' };

  it('accepts the base event, and well-formed text beyond ASCII in free text', () => {
    expect(parseLifecycleEvent(valid).ok).toBe(true);
    expect(parseLifecycleEvent({ ...valid, reason: 'carte refusée \uD83D\uDCB3' }).ok).toBe(true);
  });

  it.each(['customerId', 'eventId', 'paymentId', 'reason'])('refuses a lone surrogate in %s, naming the field', (field) => {
    for (const bad of LONE) {
      const result = parseLifecycleEvent({ ...valid, [field]: `ok${bad}` });
      expect(result.ok, `${field}=${JSON.stringify(bad)}`).toBe(false);
      if (!result.ok) expect(result.issues).toContainEqual(expect.objectContaining({ path: `$.${field}`, rule: 'well_formed' }));
    }
  });

  it('refuses a lone surrogate in a key, and in an unknown field before it is reported unknown', () => {
    const result = parseLifecycleEvent({ ...valid, ['x\uD800']: 1 });
    expect(result).toMatchObject({ ok: false, issues: [{ rule: 'well_formed' }] });
  });

  it('two customer ids that differ only in a lone surrogate can never both be accepted', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', minLength: 1, maxLength: 20 }), (customerId) => {
        const result = parseLifecycleEvent({ ...valid, customerId });
        if (result.ok) expect(hasLoneSurrogate(customerId)).toBe(false);
      }),
      { numRuns: 300 },
    );
  });
});
