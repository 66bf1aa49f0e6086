import { z } from 'zod';
import { compare as semverCompare, prerelease, valid as validSemver, validRange } from 'semver';
import { SEMVER_PATTERN } from './event-schema.ts';
import { getOwn, SAFE_ID_PATTERN } from './ids.ts';
import type { DownloadLedger } from './download-ledger.ts';

/**
 * Workflow templates in the marketplace, with semver versions, as plain data.
 *
 * A version number is never reused: unpublishing hides a version from listings and resolution
 * but keeps its number taken (as npm does), so a dependency pinned to it can never silently get
 * different content. Ratings are whole stars 0–5 kept as sum and count.
 */

/** One published version of a template. */
export interface TemplateVersion {
  readonly version: string;
  /** Template id → semver range. */
  readonly dependencies: Readonly<Record<string, string>>;
  /** SHA-256 (hex) of the template content, which lives elsewhere. */
  readonly contentDigest: string;
  readonly publishedAt: number;
  readonly unpublished: boolean;
}

/** A template and all its versions. */
export interface TemplateRecord {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly author: string;
  readonly tags: readonly string[];
  /** In publication order. */
  readonly versions: readonly TemplateVersion[];
  readonly ratingSum: number;
  readonly ratingCount: number;
  readonly downloads: number;
  readonly deprecation?: { readonly reason: string; readonly at: number };
}

/** All templates, and the download ledger (see `downloads.ts`). */
export interface TemplateRegistry {
  readonly templates: Readonly<Record<string, TemplateRecord>>;
  readonly downloadLedger: DownloadLedger;
}

/** Why a template operation was refused. */
export interface TemplateError {
  readonly code: 'invalid' | 'duplicate_version' | 'not_found' | 'invalid_rating';
  readonly message: string;
}

/** Outcome of a template operation. */
export type TemplateResult = { readonly ok: true; readonly registry: TemplateRegistry } | { readonly ok: false; readonly error: TemplateError };

const tag = z.string().regex(/^[a-z0-9][a-z0-9-]{0,31}$/, { message: 'tags are 1–32 lowercase letters, digits or "-"' });

/** What a publisher sends to publish a version. */
export const TemplatePublicationSchema = z.strictObject({
  id: z.string().regex(SAFE_ID_PATTERN, { message: 'must be a safe id' }),
  name: z.string().trim().min(1).max(200),
  description: z.string().max(5000),
  author: z.string().trim().min(1).max(200),
  tags: z.array(tag).max(20),
  version: z.string().max(256).regex(SEMVER_PATTERN, { message: 'must be a semantic version such as "1.0.0"' }),
  dependencies: z.record(z.string().regex(SAFE_ID_PATTERN), z.string().max(256)),
  contentDigest: z.string().regex(/^[0-9a-f]{64}$/, { message: 'must be a SHA-256 digest in lowercase hex' }),
});

/** A template version to publish. */
export type TemplatePublication = z.infer<typeof TemplatePublicationSchema>;

/** An empty registry. */
export function emptyTemplateRegistry(): TemplateRegistry {
  return { templates: {}, downloadLedger: { daily: {}, active: {} } };
}

/** Looks a template up by id. */
export function findTemplate(registry: TemplateRegistry, id: string): TemplateRecord | undefined {
  return getOwn(registry.templates, id);
}

/**
 * Publishes a version. The template's name, description, author and tags become those of the
 * newest publication. Refused: invalid input, a version already used (published or unpublished),
 * a dependency on itself, an invalid range.
 */
export function publishTemplate(registry: TemplateRegistry, input: unknown, now: number): TemplateResult {
  const parsed = TemplatePublicationSchema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return fail('invalid', `${['$', ...(issue?.path ?? []).map(String)].join('.')}: ${issue?.message ?? 'invalid'}`);
  }
  const publication = parsed.data;
  if (validSemver(publication.version) !== publication.version) return fail('invalid', `$.version: "${publication.version}" is not valid semver`);
  for (const [dependency, range] of Object.entries(publication.dependencies)) {
    if (dependency === publication.id) return fail('invalid', `$.dependencies.${dependency}: a template cannot depend on itself`);
    if (validRange(range) === null) return fail('invalid', `$.dependencies.${dependency}: "${range}" is not a semver range`);
  }
  const existing = findTemplate(registry, publication.id);
  if (existing?.versions.some((v) => v.version === publication.version)) {
    return fail('duplicate_version', `${publication.id}@${publication.version} already exists; versions are never reused: bump the version`);
  }
  const version: TemplateVersion = {
    version: publication.version,
    dependencies: publication.dependencies,
    contentDigest: publication.contentDigest,
    publishedAt: now,
    unpublished: false,
  };
  const record: TemplateRecord = {
    id: publication.id,
    name: publication.name,
    description: publication.description,
    author: publication.author,
    tags: [...new Set(publication.tags)],
    versions: [...(existing?.versions ?? []), version],
    ratingSum: existing?.ratingSum ?? 0,
    ratingCount: existing?.ratingCount ?? 0,
    downloads: existing?.downloads ?? 0,
    ...(existing?.deprecation ? { deprecation: existing.deprecation } : {}),
  };
  return put(registry, record);
}

/** Unpublishes one version (idempotent). Its number stays taken. */
export function unpublishTemplateVersion(registry: TemplateRegistry, id: string, version: string): TemplateResult {
  const record = findTemplate(registry, id);
  if (!record?.versions.some((v) => v.version === version)) return fail('not_found', `${id}@${version} does not exist`);
  return put(registry, { ...record, versions: record.versions.map((v) => (v.version === version ? { ...v, unpublished: true } : v)) });
}

/** Marks a template deprecated: still listed and downloadable, flagged in search. */
export function deprecateTemplate(registry: TemplateRegistry, id: string, reason: string, now: number): TemplateResult {
  const record = findTemplate(registry, id);
  if (!record) return fail('not_found', `no template ${id}`);
  return put(registry, { ...record, deprecation: { reason, at: now } });
}

/** Options of version listings. */
export interface VersionQuery {
  /** Include pre-release versions. @default false */
  readonly includePrerelease?: boolean;
}

/** Published versions of a template, lowest first (semver order). */
export function listTemplateVersions(registry: TemplateRegistry, id: string, query: VersionQuery = {}): string[] {
  const record = findTemplate(registry, id);
  if (!record) return [];
  return record.versions
    .filter((v) => !v.unpublished && (query.includePrerelease || prerelease(v.version) === null))
    .map((v) => v.version)
    .sort(semverCompare);
}

/** The highest published version (pre-releases only when asked), or undefined. */
export function latestTemplateVersion(registry: TemplateRegistry, id: string, query: VersionQuery = {}): string | undefined {
  return listTemplateVersions(registry, id, query).at(-1);
}

/** The version record of `id@version`, published or not. */
export function findTemplateVersion(registry: TemplateRegistry, id: string, version: string): TemplateVersion | undefined {
  return findTemplate(registry, id)?.versions.find((v) => v.version === version);
}

/** Records a rating of whole stars 0–5. */
export function rateTemplate(registry: TemplateRegistry, id: string, stars: number): TemplateResult {
  if (!Number.isInteger(stars) || stars < 0 || stars > 5) return fail('invalid_rating', `a rating is a whole number of stars from 0 to 5, got ${stars}`);
  const record = findTemplate(registry, id);
  if (!record) return fail('not_found', `no template ${id}`);
  return put(registry, { ...record, ratingSum: record.ratingSum + stars, ratingCount: record.ratingCount + 1 });
}

/** Average rating (2 decimals) and count; average 0 when unrated. */
export function templateRating(record: TemplateRecord): { readonly average: number; readonly count: number } {
  const average = record.ratingCount === 0 ? 0 : Math.round((record.ratingSum / record.ratingCount) * 100) / 100;
  return { average, count: record.ratingCount };
}

/** A search hit. */
export interface TemplateSummary {
  readonly id: string;
  readonly name: string;
  readonly description: string;
  readonly tags: readonly string[];
  readonly latestVersion: string;
  readonly rating: { readonly average: number; readonly count: number };
  readonly downloads: number;
  readonly deprecated: boolean;
}

/** A search: every given criterion must match. */
export interface TemplateSearch {
  /** Words that must all appear (case-insensitive) in the name or description. */
  readonly keyword?: string;
  /** A tag the template must have (case-insensitive). */
  readonly tag?: string;
  /** @default true */
  readonly includeDeprecated?: boolean;
}

/**
 * Searches templates with at least one published version. Results: most downloaded first, then
 * by id, so the order is stable.
 */
export function searchTemplates(registry: TemplateRegistry, search: TemplateSearch = {}): TemplateSummary[] {
  const words = (search.keyword ?? '').toLowerCase().split(/\s+/).filter(Boolean);
  const wantedTag = search.tag?.toLowerCase();
  const hits: TemplateSummary[] = [];
  for (const record of Object.values(registry.templates)) {
    const latest = latestTemplateVersion(registry, record.id) ?? latestTemplateVersion(registry, record.id, { includePrerelease: true });
    if (latest === undefined) continue;
    if (record.deprecation && search.includeDeprecated === false) continue;
    if (wantedTag !== undefined && !record.tags.includes(wantedTag)) continue;
    const haystack = `${record.name}\n${record.description}`.toLowerCase();
    if (!words.every((w) => haystack.includes(w))) continue;
    hits.push({
      id: record.id,
      name: record.name,
      description: record.description,
      tags: record.tags,
      latestVersion: latest,
      rating: templateRating(record),
      downloads: record.downloads,
      deprecated: record.deprecation !== undefined,
    });
  }
  return hits.sort((a, b) => b.downloads - a.downloads || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

/** Replaces a record. @internal */
export function put(registry: TemplateRegistry, record: TemplateRecord): TemplateResult {
  return { ok: true, registry: { ...registry, templates: { ...registry.templates, [record.id]: record } } };
}

function fail(code: TemplateError['code'], message: string): TemplateResult {
  return { ok: false, error: { code, message } };
}
