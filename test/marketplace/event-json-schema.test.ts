import { describe, it, expect } from 'vitest';
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { lifecycleEventJsonSchema, lifecycleEventJsonSchemaText } from '../../src/marketplace/event-json-schema.ts';
import { LIFECYCLE_EVENT_TYPES } from '../../src/marketplace/event-schema.ts';
import { EVENT_ROUTES, GOVERNORS, governorsFor } from '../../src/marketplace/event-routing.ts';

const schemaFile = fileURLToPath(new URL('../../schemas/lifecycle-event.schema.json', import.meta.url));

describe('exported JSON Schema', () => {
  it('schemas/lifecycle-event.schema.json is what the code generates (UPDATE_SCHEMAS=1 rewrites it)', () => {
    const expected = lifecycleEventJsonSchemaText();
    if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(schemaFile, expected);
    const actual = readFileSync(schemaFile, 'utf8');
    expect(actual, 'the schema file is stale: run UPDATE_SCHEMAS=1 npx vitest run test/marketplace/event-json-schema.test.ts').toBe(expected);
  });

  it('has one strict branch per event type with the common fields required', () => {
    const schema = lifecycleEventJsonSchema() as { $schema: string; oneOf: Array<Record<string, any>> };
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.oneOf.map((b) => b.properties.type.const)).toEqual(LIFECYCLE_EVENT_TYPES);
    for (const branch of schema.oneOf) {
      expect(branch.additionalProperties).toBe(false);
      expect(branch.required).toEqual(expect.arrayContaining(['type', 'eventId', 'customerId', 'occurredAt']));
      // every pattern compiles in an ECMA-262 engine, as JSON Schema requires
      for (const property of Object.values(branch.properties) as Array<{ pattern?: string }>) {
        if (property.pattern) expect(() => new RegExp(property.pattern!, 'u')).not.toThrow();
      }
    }
  });

  it('is a fresh object each time (callers may mutate it)', () => {
    const a = lifecycleEventJsonSchema();
    a.title = 'changed';
    expect(lifecycleEventJsonSchema().title).toBe('Governor lifecycle event');
  });
});

describe('routing table (SPEC §4)', () => {
  it.each([
    ['CustomerSubscribes', ['Entitlement', 'Billing', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance']],
    ['CustomerUpgrades', ['Entitlement', 'Billing', 'Subscription', 'QuotaSla']],
    ['PaymentProcessed', ['Billing', 'Entitlement', 'CustomerAccount']],
    ['PaymentFailed', ['Billing', 'Entitlement', 'CustomerAccount', 'Compliance']],
    ['UsageExceedsQuota', ['QuotaSla', 'Billing', 'CustomerAccount', 'Entitlement', 'MultiTenant']],
    ['CustomerCancels', ['Subscription', 'Entitlement', 'Billing', 'CustomerAccount', 'Compliance']],
    ['ManualSuspension', ['Entitlement', 'Billing', 'Subscription', 'CustomerAccount', 'QuotaSla', 'Compliance', 'MultiTenant']],
    ['RenewalDue', ['Subscription', 'Billing', 'Entitlement']],
  ] as const)('%s goes to %j', (type, governors) => {
    expect(governorsFor(type)).toEqual(governors);
  });

  it('routes every event type to known governors, each at most once', () => {
    expect(Object.keys(EVENT_ROUTES)).toEqual(LIFECYCLE_EVENT_TYPES);
    for (const route of Object.values(EVENT_ROUTES)) {
      expect(route.length).toBeGreaterThan(0);
      expect(new Set(route).size).toBe(route.length);
      for (const governor of route) expect(GOVERNORS).toContain(governor);
    }
    expect(governorsFor('CatalogReprice')).toEqual(['ProductCatalog']);
  });
});
