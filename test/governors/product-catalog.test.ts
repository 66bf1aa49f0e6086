import { describe, expect, it } from 'vitest';
import { priceAt, productCatalogGovernor, type CatalogData, type CatalogState } from '../../machines/governors/product-catalog.ts';
import { canonicalDigest } from '../../src/marketplace/canonical-json.ts';
import { T0, days } from './model-support.ts';
import { checkRow, ev, given, type Row } from './domain-support.ts';

const publish = (version: string, itemId = 'etl', itemKind = 'template') => ev('CatalogPublish', { itemKind, itemId, version });
const deprecate = (fields: Record<string, unknown> = {}) => ev('CatalogDeprecate', { itemKind: 'template', itemId: 'etl', reason: 'old', ...fields });
const reprice = (price: string, effectiveInDays: number, currency = 'USD') =>
  ev('CatalogReprice', { itemKind: 'template', itemId: 'etl', price, currency, effectiveAt: new Date(T0 + days(effectiveInDays)).toISOString() });

const rows: Row<CatalogState, CatalogData>[] = [
  { name: 'a first publish lists the item', history: [], event: publish('1.0.0'), status: 'applied', state: 'Listed' },
  { name: 'a higher version is added', history: [publish('1.0.0')], event: publish('1.1.0-beta.1'), status: 'applied', check: (d) => expect(d.items.etl?.versions).toEqual(['1.0.0', '1.1.0-beta.1']) },
  { name: 'a duplicate version is refused', history: [publish('1.0.0')], event: publish('1.0.0'), status: 'rejected', reason: /published already/ },
  { name: 'a lower version is refused', history: [publish('2.0.0')], event: publish('1.9.9'), status: 'rejected', reason: /must be above the latest, 2.0.0/ },
  { name: 'a version that is not semver is refused', history: [], event: publish('1.0'), status: 'rejected', reason: /not semver/ },
  { name: 'an item id is a SKU or a template, not both', history: [publish('1.0.0')], event: publish('1.1.0', 'etl', 'sku'), status: 'rejected', reason: /is a template, not a sku/ },
  { name: 'deprecating the last item empties the catalog', history: [publish('1.0.0')], event: deprecate(), status: 'applied', state: 'Empty' },
  { name: 'deprecating one version keeps the item listed', history: [publish('1.0.0'), publish('1.1.0')], event: deprecate({ version: '1.0.0' }), status: 'applied', state: 'Listed' },
  { name: 'deprecating an unknown item is refused', history: [], event: deprecate(), status: 'rejected', reason: /no item "etl"/ },
  { name: 'republishing revives a deprecated item', history: [publish('1.0.0'), deprecate()], event: publish('2.0.0'), status: 'applied', state: 'Listed' },
  { name: 'a first price takes effect in the future', history: [publish('1.0.0')], event: reprice('10.00', 1), status: 'applied', check: (d) => expect(d.items.etl?.prices).toHaveLength(1) },
  { name: 'a price effective now or in the past is refused', history: [publish('1.0.0')], event: reprice('10.00', 0), status: 'rejected', reason: /in the future/ },
  { name: 'a rise of up to 10 % needs no notice', history: [publish('1.0.0'), reprice('10.00', 1)], event: reprice('11.00', 2), status: 'applied' },
  { name: 'a rise over 10 % without 30 days’ notice is refused', history: [publish('1.0.0'), reprice('10.00', 1)], event: reprice('11.01', 29), status: 'rejected', reason: /needs 30 days' notice/ },
  { name: 'a rise over 10 % with 30 days’ notice is accepted', history: [publish('1.0.0'), reprice('10.00', 1)], event: reprice('20.00', 30), status: 'applied' },
  { name: 'a cut needs no notice', history: [publish('1.0.0'), reprice('10.00', 1)], event: reprice('1.00', 2), status: 'applied' },
  { name: 'a price out of range is refused', history: [publish('1.0.0')], event: reprice('10000000.00', 1), status: 'rejected', reason: /between 0.01 and 9999999.99/ },
  { name: 'a change of currency is refused', history: [publish('1.0.0'), reprice('10.00', 1)], event: reprice('10.00', 2, 'EUR'), status: 'rejected', reason: /priced in USD, not EUR/ },
  { name: 'a deprecated item is not repriced', history: [publish('1.0.0'), deprecate()], event: reprice('10.00', 1), status: 'rejected', reason: /deprecated/ },
];

describe('ProductCatalog rules', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => checkRow(productCatalogGovernor, row));

  it('keeps a revision that is the digest of the item, the same in every run', () => {
    const { items } = given(productCatalogGovernor, [publish('1.0.0'), reprice('10.00', 1)]).data;
    const { revision, ...rest } = items.etl!;
    expect(revision).toBe(canonicalDigest(rest));
    expect(given(productCatalogGovernor, [publish('1.0.0'), reprice('10.00', 1)]).data.items.etl?.revision).toBe(revision);
  });

  it('answers look-ups with the price in effect at a time', () => {
    const catalog = given(productCatalogGovernor, [publish('1.0.0'), reprice('10.00', 1), reprice('9.00', 5)]);
    const lookup = (at: number) => productCatalogGovernor.queries!.lookup!({ customerId: 'c1', state: catalog.state, version: catalog.version, data: catalog.data }, { itemId: 'etl', at });
    expect(lookup(T0)).toMatchObject({ found: true, latest: '1.0.0', price: null });
    expect(lookup(T0 + days(2))).toMatchObject({ price: { amount: '10.00' } });
    expect(lookup(T0 + days(6))).toMatchObject({ price: { amount: '9.00' } });
    expect(priceAt(catalog.data.items.etl!, T0 + days(6))?.amount).toBe('9.00');
  });
});
