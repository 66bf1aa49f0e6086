/**
 * The `enqueue` door: hostile values for every field of a lifecycle event are rejected with
 * issues that name the field, never thrown, and random values never throw out of the validator.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseLifecycleEvent, parseLifecycleEventJson } from '../../src/marketplace/event-validation.ts';
import { HOSTILE_STRINGS } from '../fixtures/hostile/corpus.ts';

const valid = { eventId: 'evt-1', customerId: 'cust-1', occurredAt: '2026-01-01T00:00:00Z', type: 'PaymentProcessed', amount: '10.00', currency: 'USD', paymentId: 'pay-1' };

describe('lifecycle event validation under hostile input', () => {
  it('accepts the valid base event (so the rejections below are about the field changed)', () => {
    expect(parseLifecycleEvent(valid).ok).toBe(true);
  });

  it('never throws on random values or random JSON text', () => {
    fc.assert(fc.property(fc.anything(), (value) => { parseLifecycleEvent(value); }), { numRuns: 200 });
    fc.assert(fc.property(fc.string(), (text) => { parseLifecycleEventJson(text); }), { numRuns: 200 });
  });

  it('rejects hostile amounts and types with issues', () => {
    for (const amount of ['NaN', 'Infinity', '-Infinity', '1e309', '0x10', '', ' ', '\ud800']) {
      const result = parseLifecycleEvent({ ...valid, amount });
      expect(result.ok, amount).toBe(false);
    }
    for (const type of HOSTILE_STRINGS) expect(parseLifecycleEvent({ ...valid, type }).ok, type).toBe(false);
    expect(parseLifecycleEvent(JSON.parse('{"__proto__":{"type":"PaymentProcessed"}}')).ok).toBe(false);
  });
});
