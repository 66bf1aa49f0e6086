import { describe, it, expect } from 'vitest';
import { parseLifecycleEvent } from '../../src/marketplace/event-validation.ts';
import { LIFECYCLE_EVENT_TYPES } from '../../src/marketplace/event-schema.ts';
import { validEvent } from './event-examples.ts';

describe('valid events of every type', () => {
  it.each(LIFECYCLE_EVENT_TYPES)('accepts %s and returns exactly its fields', (type) => {
    const input = validEvent(type);
    const result = parseLifecycleEvent(input);
    expect(result).toEqual({ ok: true, event: input });
  });

  it('accepts optional fields left out and offsets other than Z', () => {
    const { reason: _reason, ...noReason } = validEvent('CustomerCancels');
    expect(parseLifecycleEvent(noReason).ok).toBe(true);
    expect(parseLifecycleEvent(validEvent('RenewalDue', { occurredAt: '2025-03-01T12:00:00+05:30' })).ok).toBe(true);
    expect(parseLifecycleEvent(validEvent('UsageRecorded', { quantity: 12 })).ok).toBe(true);
    expect(parseLifecycleEvent(validEvent('CatalogDeprecate', { version: '2.0.0' })).ok).toBe(true);
  });
});

describe('each rule names the field, the rule and the value', () => {
  it.each([
    ['RenewalDue', { eventId: 'has space' }, '$.eventId', 'pattern', '"has space"'],
    ['RenewalDue', { eventId: 'constructor' }, '$.eventId', 'pattern', '"constructor"'],
    ['RenewalDue', { eventId: 'x'.repeat(129) }, '$.eventId', 'max_length', undefined],
    ['RenewalDue', { customerId: 42 }, '$.customerId', 'type', '42'],
    ['RenewalDue', { occurredAt: '2025-03-01' }, '$.occurredAt', 'format', '"2025-03-01"'],
    ['RenewalDue', { occurredAt: '2025-02-30T00:00:00Z' }, '$.occurredAt', 'format', undefined],
    ['RenewalDue', { subscriptionId: undefined }, '$.subscriptionId', 'required', undefined],
    ['RenewalDue', { plan: 'gold' }, '$.plan', 'unknown_field', '"gold"'],
    ['CustomerSubscribes', { tier: 'platinum' }, '$.tier', 'enum', '"platinum"'],
    ['CustomerSubscribes', { sku: 'PRO_MONTHLY' }, '$.sku', 'pattern', '"PRO_MONTHLY"'],
    ['PaymentProcessed', { amount: 616 }, '$.amount', 'type', '616'],
    ['PaymentProcessed', { amount: '6.1e2' }, '$.amount', 'pattern', '"6.1e2"'],
    ['PaymentProcessed', { amount: '0.00' }, '$.amount', 'positive', '"0.00"'],
    ['PaymentProcessed', { amount: '1.23456' }, '$.amount', 'pattern', '"1.23456"'],
    ['PaymentProcessed', { currency: 'usd' }, '$.currency', 'pattern', '"usd"'],
    ['PaymentFailed', { reason: '' }, '$.reason', 'min_length', '""'],
    ['PaymentFailed', { reason: 'line\nbreak' }, '$.reason', 'pattern', undefined],
    ['PaymentFailed', { reason: 'r'.repeat(1001) }, '$.reason', 'max_length', undefined],
    ['UsageExceedsQuota', { usage: -1 }, '$.usage', 'minimum', '-1'],
    ['UsageExceedsQuota', { limit: '5' }, '$.limit', 'type', '"5"'],
    ['UsageRecorded', { metric: 'bananas' }, '$.metric', 'enum', '"bananas"'],
    ['UsageRecorded', { quantity: true }, '$.quantity', 'type', 'true'],
    ['UsageRecorded', { quantity: '-1' }, '$.quantity', 'pattern', '"-1"'],
    ['UsageRecorded', { quantity: -1 }, '$.quantity', 'minimum', '-1'],
    ['CatalogPublish', { version: 'v1.0.0' }, '$.version', 'pattern', '"v1.0.0"'],
    ['CatalogPublish', { version: '99999999999999999999.0.0' }, '$.version', 'invalid', undefined],
    ['CatalogReprice', { itemKind: 'bundle' }, '$.itemKind', 'enum', '"bundle"'],
  ] as const)('%s with %j: %s breaks %s', (type, override, path, rule, value) => {
    const result = parseLifecycleEvent(validEvent(type, override));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    // every issue is about that one field; one of them is the rule under test
    for (const other of result.issues) expect(other.path).toBe(path);
    const issue = result.issues.find((i) => i.rule === rule);
    expect(issue, JSON.stringify(result.issues)).toBeDefined();
    if (value !== undefined) expect(issue?.value).toBe(value);
    expect(issue?.message.startsWith(`${path}: `)).toBe(true);
  });

  it('reports an unknown or missing type on $.type', () => {
    expect(parseLifecycleEvent(validEvent('RenewalDue', { type: 'CustomerExplodes' }))).toMatchObject({
      ok: false,
      issues: [{ path: '$.type', rule: 'unknown_event_type', value: '"CustomerExplodes"' }],
    });
    const { type: _type, ...untyped } = validEvent('RenewalDue');
    expect(parseLifecycleEvent(untyped)).toMatchObject({ ok: false, issues: [{ path: '$.type', rule: 'required' }] });
  });

  it('reports every problem at once, and truncates long values', () => {
    const result = parseLifecycleEvent(validEvent('PaymentProcessed', { amount: 'x'.repeat(500), currency: 'dollars', extra: true }));
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.issues.map((i) => i.path).sort()).toEqual(['$.amount', '$.amount', '$.currency', '$.extra']);
    for (const issue of result.issues) expect((issue.value ?? '').length).toBeLessThanOrEqual(65);
  });
});
