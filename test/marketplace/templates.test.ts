import { describe, it, expect } from 'vitest';
import {
  deprecateTemplate,
  emptyTemplateRegistry,
  findTemplate,
  latestTemplateVersion,
  listTemplateVersions,
  publishTemplate,
  rateTemplate,
  searchTemplates,
  templateRating,
  unpublishTemplateVersion,
  type TemplateRegistry,
  type TemplateResult,
} from '../../src/marketplace/templates.ts';
import { beginDownload, finishDownload, MAX_CONCURRENT_DOWNLOADS, DOWNLOAD_LEASE_MS, type DownloadResult } from '../../src/marketplace/downloads.ts';
import { sha256Hex } from '../../src/marketplace/canonical-json.ts';

const NOW = Date.parse('2025-03-01T10:00:00Z');

function publication(id: string, version: string, extra: Record<string, unknown> = {}) {
  return {
    id,
    name: `${id} template`,
    description: `Workflow template ${id}`,
    author: 'acme',
    tags: ['etl'],
    version,
    dependencies: {},
    contentDigest: sha256Hex(`${id}@${version}`),
    ...extra,
  };
}

function ok(result: TemplateResult | DownloadResult): TemplateRegistry {
  if (!result.ok) throw new Error(JSON.stringify(result.error));
  return result.registry;
}

function registryWith(...pubs: Array<ReturnType<typeof publication>>): TemplateRegistry {
  return pubs.reduce((r, p) => ok(publishTemplate(r, p, NOW)), emptyTemplateRegistry());
}

describe('publishing and versions', () => {
  const registry = registryWith(
    publication('etl', '1.0.0'),
    publication('etl', '1.10.0'),
    publication('etl', '1.2.0'),
    publication('etl', '2.0.0-beta.1'),
  );

  it('lists versions in semver order and picks the highest as latest', () => {
    expect(listTemplateVersions(registry, 'etl')).toEqual(['1.0.0', '1.2.0', '1.10.0']);
    expect(latestTemplateVersion(registry, 'etl')).toBe('1.10.0');
    expect(listTemplateVersions(registry, 'etl', { includePrerelease: true })).toEqual(['1.0.0', '1.2.0', '1.10.0', '2.0.0-beta.1']);
    expect(latestTemplateVersion(registry, 'etl', { includePrerelease: true })).toBe('2.0.0-beta.1');
    expect(latestTemplateVersion(registry, 'missing')).toBeUndefined();
    expect(latestTemplateVersion(registry, 'constructor')).toBeUndefined();
  });

  it('refuses a duplicate version, even after it was unpublished', () => {
    expect(publishTemplate(registry, publication('etl', '1.2.0'), NOW)).toMatchObject({ ok: false, error: { code: 'duplicate_version' } });
    const unpublished = ok(unpublishTemplateVersion(registry, 'etl', '1.10.0'));
    expect(listTemplateVersions(unpublished, 'etl')).toEqual(['1.0.0', '1.2.0']);
    expect(latestTemplateVersion(unpublished, 'etl')).toBe('1.2.0');
    expect(publishTemplate(unpublished, publication('etl', '1.10.0'), NOW)).toMatchObject({ ok: false, error: { code: 'duplicate_version' } });
    expect(unpublishTemplateVersion(registry, 'etl', '9.9.9')).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it.each([
    [{ version: 'v1.0.0' }, /\$\.version/],
    [{ version: '1.0' }, /\$\.version/],
    [{ id: '__proto__' }, /\$\.id/],
    [{ id: 'prototype' }, /\$\.id/],
    [{ tags: ['Has Space'] }, /\$\.tags/],
    [{ dependencies: { self: '^1.0.0' }, id: 'self' }, /itself/],
    [{ dependencies: { other: 'not a range' } }, /not a semver range/],
    [{ contentDigest: 'abc' }, /contentDigest/],
    [{ extra: 1 }, /extra/],
  ])('refuses %j', (override, message) => {
    const result = publishTemplate(emptyTemplateRegistry(), publication('t', '1.0.0', override), NOW);
    expect(result).toMatchObject({ ok: false, error: { code: 'invalid', message } });
  });
});

describe('search and ratings', () => {
  const registry = registryWith(
    publication('csv-to-sheet', '1.0.0', { name: 'CSV to Sheet', description: 'Import CSV files into a spreadsheet', tags: ['csv', 'import'] }),
    publication('slack-alerts', '1.0.0', { name: 'Slack alerts', description: 'Post incident alerts to Slack', tags: ['alerts', 'chat'] }),
    publication('csv-export', '0.1.0-alpha.1', { name: 'CSV export', description: 'Export tables as csv', tags: ['csv'] }),
  );

  it('finds by every keyword in name or description, case-insensitive, and by tag', () => {
    expect(searchTemplates(registry, { keyword: 'csv' }).map((t) => t.id)).toEqual(['csv-export', 'csv-to-sheet']);
    expect(searchTemplates(registry, { keyword: 'IMPORT spreadsheet' }).map((t) => t.id)).toEqual(['csv-to-sheet']);
    expect(searchTemplates(registry, { keyword: 'csv slack' })).toEqual([]);
    expect(searchTemplates(registry, { tag: 'ALERTS' }).map((t) => t.id)).toEqual(['slack-alerts']);
    expect(searchTemplates(registry, { keyword: 'csv', tag: 'import' }).map((t) => t.id)).toEqual(['csv-to-sheet']);
    expect(searchTemplates(registry)).toHaveLength(3);
    expect(searchTemplates(registry, { keyword: 'csv' }).find((t) => t.id === 'csv-export')?.latestVersion).toBe('0.1.0-alpha.1');
  });

  it('hides fully unpublished templates and optionally deprecated ones', () => {
    const hidden = ok(unpublishTemplateVersion(registry, 'slack-alerts', '1.0.0'));
    expect(searchTemplates(hidden, { tag: 'alerts' })).toEqual([]);
    const deprecated = ok(deprecateTemplate(registry, 'csv-export', 'use csv-to-sheet', NOW));
    expect(searchTemplates(deprecated, { tag: 'csv' }).map((t) => [t.id, t.deprecated])).toEqual([
      ['csv-export', true],
      ['csv-to-sheet', false],
    ]);
    expect(searchTemplates(deprecated, { tag: 'csv', includeDeprecated: false }).map((t) => t.id)).toEqual(['csv-to-sheet']);
  });

  it('averages ratings 0–5 with a count, refusing anything else', () => {
    let r = registry;
    for (const stars of [5, 4, 4, 0]) r = ok(rateTemplate(r, 'slack-alerts', stars));
    expect(templateRating(findTemplate(r, 'slack-alerts')!)).toEqual({ average: 3.25, count: 4 });
    expect(templateRating(findTemplate(r, 'csv-to-sheet')!)).toEqual({ average: 0, count: 0 });
    for (const bad of [-1, 6, 4.5, Number.NaN]) {
      expect(rateTemplate(r, 'slack-alerts', bad)).toMatchObject({ ok: false, error: { code: 'invalid_rating' } });
    }
    expect(rateTemplate(r, 'nope', 3)).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });
});

describe('downloads', () => {
  const registry = registryWith(publication('etl', '1.0.0'), publication('etl', '1.1.0'));
  const request = (n: number, extra: Record<string, unknown> = {}) => ({
    downloadId: `dl-${n}`,
    customerId: 'cust-1',
    tier: 'community' as const,
    templateId: 'etl',
    ...extra,
  });

  it('counts downloads and serves the latest version by default', () => {
    const result = beginDownload(registry, request(1), NOW);
    expect(result).toMatchObject({ ok: true, version: '1.1.0', remainingToday: 4 });
    expect(findTemplate(ok(result), 'etl')?.downloads).toBe(1);
    expect(beginDownload(registry, request(1, { version: '1.0.0' }), NOW)).toMatchObject({ ok: true, version: '1.0.0' });
    expect(beginDownload(registry, request(1, { version: '3.0.0' }), NOW)).toMatchObject({ ok: false, error: { code: 'not_found' } });
  });

  it(`allows at most ${MAX_CONCURRENT_DOWNLOADS} downloads in flight per customer; finishing frees a slot`, () => {
    let r = registry;
    for (let i = 0; i < MAX_CONCURRENT_DOWNLOADS; i += 1) r = ok(beginDownload(r, request(i, { tier: 'professional' }), NOW));
    expect(beginDownload(r, request(99, { tier: 'professional' }), NOW)).toMatchObject({ ok: false, error: { code: 'too_many_concurrent' } });
    expect(beginDownload(r, request(99, { tier: 'professional', customerId: 'cust-2' }), NOW).ok).toBe(true);
    r = finishDownload(r, 'dl-0');
    expect(finishDownload(r, 'dl-0')).toBe(r);
    expect(beginDownload(r, request(99, { tier: 'professional' }), NOW).ok).toBe(true);
    expect(beginDownload(r, request(1, { tier: 'professional' }), NOW)).toMatchObject({ ok: false, error: { code: 'duplicate_download' } });
  });

  it('frees the slot of a download that never finished when its lease runs out', () => {
    let r = registry;
    for (let i = 0; i < MAX_CONCURRENT_DOWNLOADS; i += 1) r = ok(beginDownload(r, request(i, { tier: 'enterprise' }), NOW));
    expect(beginDownload(r, request(99, { tier: 'enterprise' }), NOW + DOWNLOAD_LEASE_MS - 1).ok).toBe(false);
    expect(beginDownload(r, request(99, { tier: 'enterprise' }), NOW + DOWNLOAD_LEASE_MS).ok).toBe(true);
  });

  it.each([
    ['community', 5],
    ['professional', 100],
  ] as const)('%s may start %d downloads a UTC day', (tier, limit) => {
    let r = registry;
    for (let i = 0; i < limit; i += 1) r = finishDownload(ok(beginDownload(r, request(i, { tier }), NOW)), `dl-${i}`);
    expect(beginDownload(r, request(limit, { tier }), NOW)).toMatchObject({ ok: false, error: { code: 'daily_limit' } });
    const tomorrow = Date.parse('2025-03-02T00:00:00Z');
    expect(beginDownload(r, request(limit, { tier }), tomorrow)).toMatchObject({ ok: true, remainingToday: limit - 1 });
    expect(findTemplate(r, 'etl')?.downloads).toBe(limit);
  });

  it('enterprise downloads are unlimited', () => {
    let r = registry;
    for (let i = 0; i < 300; i += 1) r = finishDownload(ok(beginDownload(r, request(i, { tier: 'enterprise' }), NOW)), `dl-${i}`);
    expect(beginDownload(r, request(300, { tier: 'enterprise' }), NOW)).toMatchObject({ ok: true, remainingToday: Number.POSITIVE_INFINITY });
  });

  it('refuses unsafe ids', () => {
    expect(beginDownload(registry, request(1, { customerId: '__proto__' }), NOW)).toMatchObject({ ok: false, error: { code: 'invalid' } });
    expect(beginDownload(registry, request(1, { downloadId: 'constructor' }), NOW)).toMatchObject({ ok: false, error: { code: 'invalid' } });
  });
});
