import { describe, expect, it } from 'vitest';
import { inc } from 'semver';
import { productCatalogGovernor, productCatalogMachine, type CatalogData, type CatalogState } from '../../machines/governors/product-catalog.ts';
import type { GovernorContext } from '../../machines/governors/governor-kit.ts';
import { canonicalDigest } from '../../src/marketplace/canonical-json.ts';
import { T0, days, traverseGovernor, type Sample } from './model-support.ts';

type C = GovernorContext<CatalogState, CatalogData>;

function samples(c: C): Sample[] {
  const item = c.data.items['etl'];
  const latest = item?.versions.at(-1) ?? '1.0.0';
  const next = item ? inc(latest, 'minor')! : '1.0.0';
  const at = (d: number) => new Date(T0 + days(d)).toISOString();
  return [
    { type: 'CatalogPublish', fields: { itemKind: 'template', itemId: 'etl', version: next } },
    { type: 'CatalogPublish', fields: { itemKind: 'template', itemId: 'etl', version: latest } },
    { type: 'CatalogDeprecate', fields: { itemKind: 'template', itemId: 'etl', reason: 'replaced' } },
    { type: 'CatalogReprice', fields: { itemKind: 'template', itemId: 'etl', price: '100.00', currency: 'USD', effectiveAt: at(1) } },
    { type: 'CatalogReprice', fields: { itemKind: 'template', itemId: 'etl', price: '200.00', currency: 'USD', effectiveAt: at(5) } },
    { type: 'CustomerSubscribes', fields: { sku: 'PRO-MONTHLY', tier: 'professional' } },
  ];
}

describe('ProductCatalog governor, traversed with xstate/graph', () => {
  const result = traverseGovernor(productCatalogGovernor, productCatalogMachine, {
    samples,
    abstract: (c: C) => {
      const item = c.data.items['etl'];
      return item ? [item.retired, item.prices.length, Math.min(item.versions.length, 2)] : null;
    },
    invariant: (c: C) => {
      const items = Object.values(c.data.items);
      expect(c.state === 'Listed').toBe(items.some((i) => !i.retired));
      for (const { revision, ...rest } of items) {
        // The revision is a stable digest of everything else, so it can be checked.
        expect(revision).toBe(canonicalDigest(rest));
        expect(new Set(rest.versions).size).toBe(rest.versions.length);
        expect(rest.prices.map((p) => p.effectiveAt)).toEqual([...rest.prices.map((p) => p.effectiveAt)].sort((a, b) => a - b));
      }
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
