import { describe, it, expect } from 'vitest';
import {
  checkPriceChange,
  currentPrice,
  deprecateSku,
  emptyCatalog,
  findSku,
  publishSku,
  repriceSku,
  saveSkuDraft,
  setSkuFeatured,
  skuRevision,
  validateSku,
  type CatalogResult,
  type Sku,
  type SkuCatalog,
} from '../../src/marketplace/catalog.ts';

const DAY = 86_400_000;
const NOW = Date.parse('2025-03-01T00:00:00Z');

const sku: Sku = {
  id: 'PRO-MONTHLY',
  name: 'Professional, monthly',
  description: 'Everything a growing team needs.',
  price: '99.00',
  tier: 'professional',
  features: [
    { id: 'cloud_deployment', dependsOn: [] },
    { id: 'custom_domains', dependsOn: ['cloud_deployment'] },
  ],
  limits: { workflows: 100, executions_per_month: 100_000 },
  version: '1.0.0',
};

function ok(result: CatalogResult): SkuCatalog {
  if (!result.ok) throw new Error(`expected ok, got ${JSON.stringify(result.error)}`);
  return result.catalog;
}

describe('SKU validation (seed rules)', () => {
  it('accepts a sound SKU and stamps a stable revision', () => {
    const result = validateSku(sku);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.sku.revision).toMatch(/^[0-9a-f]{64}$/);
    const shuffled = Object.fromEntries(Object.entries(sku).reverse());
    expect(skuRevision(shuffled as Sku)).toBe(result.sku.revision);
    expect(validateSku({ ...sku, revision: result.sku.revision }).ok).toBe(true);
  });

  it.each([
    [{ id: 'PRO_MONTHLY' }, '$.id'],
    [{ id: '' }, '$.id'],
    [{ name: '' }, '$.name'],
    [{ name: 'n'.repeat(201) }, '$.name'],
    [{ description: 'd'.repeat(5001) }, '$.description'],
    [{ price: '0.00' }, '$.price'],
    [{ price: '10000000.00' }, '$.price'],
    [{ price: '9.999' }, '$.price'],
    [{ price: 99 }, '$.price'],
    [{ tier: 'starter' }, '$.tier'],
    [{ version: '1.0' }, '$.version'],
    [{ revision: 'f'.repeat(64) }, '$.revision'],
    [{ limits: { workflows: -1 } }, '$.limits.workflows'],
    [{ limits: { constructor: 1 } }, '$.limits.constructor'],
    [{ features: [{ id: 'a', dependsOn: ['a'] }] }, '$.features.0.dependsOn.0'],
    [{ features: [{ id: 'a', dependsOn: ['missing'] }] }, '$.features.0.dependsOn.0'],
    [{ features: [{ id: 'a', dependsOn: [] }, { id: 'a', dependsOn: [] }] }, '$.features.1.id'],
    [{ surprise: true }, '$'],
  ])('refuses %j at %s', (override, path) => {
    const result = validateSku({ ...sku, ...override });
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.issues.map((i) => i.path)).toContain(path);
  });

  it('accepts the price bounds 0.01 and 9,999,999.99 (1 and 999,999,999 cents)', () => {
    expect(validateSku({ ...sku, price: '0.01' }).ok).toBe(true);
    expect(validateSku({ ...sku, price: '9999999.99' }).ok).toBe(true);
  });

  it('never throws on hostile input', () => {
    for (const input of [null, 42, 'sku', [], JSON.parse('{"__proto__":{"x":1}}'), { ...sku, features: 'x' }]) {
      expect(validateSku(input).ok).toBe(false);
    }
  });
});

describe('price-change rule', () => {
  it.each([
    ['99.00', '108.90', 1, true, undefined], // exactly +10 %: no notice needed
    ['99.00', '108.91', 1, false, 'insufficient_notice'],
    ['99.00', '150.00', 29.99, false, 'insufficient_notice'],
    ['99.00', '150.00', 30, true, undefined],
    ['99.00', '10.00', 0.001, true, undefined], // decreases need no notice
    ['99.00', '120.00', 0, false, 'not_in_future'],
    ['99.00', '120.00', -5, false, 'not_in_future'],
    ['99.00', '0', 40, false, 'invalid_price'],
  ] as const)('%s → %s with %d days notice: ok=%s', (currentPrice, newPrice, days, okay, reason) => {
    const result = checkPriceChange({ currentPrice, newPrice, announcedAt: NOW, effectiveAt: NOW + days * DAY });
    expect(result.ok).toBe(okay);
    if (!result.ok) expect(result.reason).toBe(reason);
  });

  it('says when the rise may take effect', () => {
    const result = checkPriceChange({ currentPrice: '100', newPrice: '150', announcedAt: NOW, effectiveAt: NOW + DAY });
    expect(result).toMatchObject({ ok: false, message: /50 %.*2025-03-31T00:00:00.000Z/ });
  });
});

describe('catalog lifecycle', () => {
  const drafted = ok(saveSkuDraft(emptyCatalog(), sku));
  const published = ok(publishSku(drafted, 'PRO-MONTHLY', '1.0.0', NOW));

  it('publishes a draft by version, and never the same version twice', () => {
    expect(findSku(drafted, 'PRO-MONTHLY')?.status).toBe('draft');
    expect(findSku(published, 'PRO-MONTHLY')).toMatchObject({ status: 'published', publishedVersions: ['1.0.0'] });
    expect(publishSku(published, 'PRO-MONTHLY', '1.0.0', NOW)).toMatchObject({ ok: false, error: { code: 'duplicate_version' } });
    expect(saveSkuDraft(published, sku)).toMatchObject({ ok: false, error: { code: 'duplicate_version' } });
    expect(publishSku(drafted, 'PRO-MONTHLY', '2.0.0', NOW)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(publishSku(drafted, 'constructor', '1.0.0', NOW)).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it('keeps a featured SKU featured through updates (a seed defect)', () => {
    const featured = ok(setSkuFeatured(published, 'PRO-MONTHLY', true));
    const v2 = ok(publishSku(ok(saveSkuDraft(featured, { ...sku, version: '1.1.0', description: 'Now better.' })), 'PRO-MONTHLY', '1.1.0', NOW));
    expect(findSku(v2, 'PRO-MONTHLY')).toMatchObject({ featured: true, status: 'published', publishedVersions: ['1.0.0', '1.1.0'] });
  });

  it('refuses a new version that raises the price by more than 10 % at once', () => {
    const dearer = ok(saveSkuDraft(published, { ...sku, version: '1.1.0', price: '120.00' }));
    expect(publishSku(dearer, 'PRO-MONTHLY', '1.1.0', NOW)).toMatchObject({ ok: false, error: { code: 'insufficient_notice' } });
  });

  it('reprices with notice and switches the price on the effective date', () => {
    const repriced = ok(repriceSku(published, 'PRO-MONTHLY', { price: '149.00', effectiveAt: NOW + 30 * DAY }, NOW));
    const record = findSku(repriced, 'PRO-MONTHLY')!;
    expect(currentPrice(record, NOW + 30 * DAY - 1)).toBe('99.00');
    expect(currentPrice(record, NOW + 30 * DAY)).toBe('149.00');
    expect(repriceSku(published, 'PRO-MONTHLY', { price: '149.00', effectiveAt: NOW + DAY }, NOW)).toMatchObject({
      ok: false,
      error: { code: 'insufficient_notice' },
    });
  });

  it('deprecates, freezing the price; unknown SKUs are not_found', () => {
    const deprecated = ok(deprecateSku(published, 'PRO-MONTHLY', 'replaced', NOW));
    expect(findSku(deprecated, 'PRO-MONTHLY')).toMatchObject({ status: 'deprecated', deprecation: { reason: 'replaced', at: NOW } });
    expect(repriceSku(deprecated, 'PRO-MONTHLY', { price: '90.00', effectiveAt: NOW + DAY }, NOW)).toMatchObject({
      ok: false,
      error: { code: 'deprecated' },
    });
    expect(deprecateSku(drafted, 'PRO-MONTHLY', 'x', NOW)).toMatchObject({ ok: false, error: { code: 'not_found' } });
    expect(saveSkuDraft(emptyCatalog(), { ...sku, price: 'free' })).toMatchObject({ ok: false, error: { code: 'invalid_sku' } });
  });

  it('keeps state as plain JSON data', () => {
    expect(JSON.parse(JSON.stringify(published))).toEqual(published);
  });
});
