import { z } from 'zod';
import { valid as validSemver, gt as semverGt } from 'semver';
import { canonicalDigest } from './canonical-json.ts';
import { SEMVER_PATTERN, SKU_ID_PATTERN } from './event-schema.ts';
import { getOwn } from './ids.ts';
import { Dec, formatDecimal } from './money.ts';
import { TIER_IDS } from './tiers.ts';

/**
 * The SKU catalog (`reference/seed-sources.md` § ProductCatalog), as plain data.
 *
 * A SKU is saved as a draft, then published by version; every published version number is kept
 * and never reused. Featuring is a flag beside the status, so updating a featured SKU keeps it
 * featured (the seeds dropped it to Published). The revision is the SHA-256 of the SKU's
 * canonical encoding, so it is stable across runs and processes, and it is checked when given.
 *
 * Price rule: a new price takes effect in the future; a rise of more than 10 % needs at least
 * 30 days' notice (announcement to effective date). Publishing a new version that raises the
 * price by more than 10 % is refused: announce it with {@link repriceSku} instead.
 */

/** Tiers a SKU can be sold under. */
export const SKU_TIERS = [...TIER_IDS, 'custom'] as const;
/** Notice required for a price rise above {@link PRICE_RISE_NOTICE_THRESHOLD}. */
export const PRICE_RISE_NOTICE_DAYS = 30;
/** A rise above this fraction needs notice. */
export const PRICE_RISE_NOTICE_THRESHOLD = '0.10';

const DAY_MS = 86_400_000;
const snakeId = z.string().regex(/^(?!(?:constructor|prototype)$)[a-z][a-z0-9_]{0,63}$/, {
  message: 'must be snake_case, 1–64 characters',
});
// 1..999,999,999 cents, written as dollars with at most two decimals
const skuPrice = z
  .string()
  .regex(/^(?:0|[1-9][0-9]{0,6})(?:\.[0-9]{1,2})?$/, { message: 'must be a USD amount such as "99.00", at most 9,999,999.99' })
  .refine((p) => !/^(?:0|[1-9][0-9]{0,6})(?:\.[0-9]{1,2})?$/.test(p) || new Dec(p).gte('0.01'), { message: 'must be at least 0.01' });

/** The schema of a SKU. */
export const SkuSchema = z
  .strictObject({
    id: z.string().regex(SKU_ID_PATTERN, { message: 'must be 1–64 letters, digits or "-"' }),
    name: z.string().trim().min(1).max(200),
    description: z.string().trim().min(1).max(5000),
    price: skuPrice,
    tier: z.enum(SKU_TIERS),
    features: z
      .array(z.strictObject({ id: snakeId, dependsOn: z.array(snakeId).max(64) }))
      .max(200),
    limits: z.record(snakeId, z.number().min(0).max(Number.MAX_SAFE_INTEGER)),
    version: z.string().regex(SEMVER_PATTERN, { message: 'must be a semantic version such as "1.0.0"' }),
    /** When given, must equal {@link skuRevision} of the other fields. */
    revision: z.string().optional(),
  })
  .superRefine((sku, ctx) => {
    const ids = new Set<string>();
    sku.features.forEach((feature, i) => {
      if (ids.has(feature.id)) ctx.addIssue({ code: 'custom', path: ['features', i, 'id'], message: `feature "${feature.id}" is listed twice` });
      ids.add(feature.id);
    });
    sku.features.forEach((feature, i) =>
      feature.dependsOn.forEach((dependency, j) => {
        if (dependency === feature.id) {
          ctx.addIssue({ code: 'custom', path: ['features', i, 'dependsOn', j], message: `feature "${feature.id}" cannot depend on itself` });
        } else if (!ids.has(dependency)) {
          ctx.addIssue({
            code: 'custom',
            path: ['features', i, 'dependsOn', j],
            message: `feature "${feature.id}" depends on "${dependency}", which this SKU does not have`,
          });
        }
      }),
    );
    if (validSemver(sku.version) !== sku.version) ctx.addIssue({ code: 'custom', path: ['version'], message: 'is not a valid semantic version' });
    if (sku.revision !== undefined && sku.revision !== skuRevision(sku)) {
      ctx.addIssue({ code: 'custom', path: ['revision'], message: 'does not match the SKU content: recompute it with skuRevision' });
    }
  });

/** A SKU. */
export type Sku = z.infer<typeof SkuSchema>;

/** A problem with a SKU: where and what. */
export interface SkuIssue {
  readonly path: string;
  readonly message: string;
}

/** SHA-256 of the canonical encoding of the SKU without its `revision` field. */
export function skuRevision(sku: Omit<Sku, 'revision'> & { revision?: string }): string {
  const { revision: _revision, ...content } = sku;
  return canonicalDigest(content);
}

/** Validates a SKU; the returned SKU carries its revision. Never throws. */
export function validateSku(input: unknown): { ok: true; sku: Sku } | { ok: false; issues: SkuIssue[] } {
  let parsed: ReturnType<typeof SkuSchema.safeParse>;
  try {
    parsed = SkuSchema.safeParse(input);
  } catch (error) {
    return { ok: false, issues: [{ path: '$', message: `unreadable input: ${(error as Error).message}` }] };
  }
  if (!parsed.success) {
    return {
      ok: false,
      issues: parsed.error.issues.map((i) => ({ path: ['$', ...i.path.map(String)].join('.'), message: i.message })),
    };
  }
  return { ok: true, sku: { ...parsed.data, revision: skuRevision(parsed.data) } };
}

/** A price change to check. Times are epoch ms. */
export interface PriceChange {
  readonly currentPrice: string;
  readonly newPrice: string;
  /** When the change is announced to customers (usually now). */
  readonly announcedAt: number;
  readonly effectiveAt: number;
}

/** Outcome of {@link checkPriceChange}. */
export type PriceChangeCheck =
  | { readonly ok: true; /** Change as a fraction of the current price, e.g. "0.1" or "-0.25". */ readonly change: string }
  | { readonly ok: false; readonly reason: 'invalid_price' | 'not_in_future' | 'insufficient_notice'; readonly message: string };

/** Applies the price rule. Never throws. */
export function checkPriceChange(change: PriceChange): PriceChangeCheck {
  if (!skuPrice.safeParse(change.newPrice).success || !skuPrice.safeParse(change.currentPrice).success) {
    return { ok: false, reason: 'invalid_price', message: 'prices must be USD amounts from 0.01 to 9,999,999.99, such as "99.00"' };
  }
  if (!(change.effectiveAt > change.announcedAt)) {
    return { ok: false, reason: 'not_in_future', message: 'a price change must take effect after it is announced' };
  }
  const fraction = new Dec(change.newPrice).minus(change.currentPrice).dividedBy(change.currentPrice);
  const noticeDays = (change.effectiveAt - change.announcedAt) / DAY_MS;
  if (fraction.gt(PRICE_RISE_NOTICE_THRESHOLD) && noticeDays < PRICE_RISE_NOTICE_DAYS) {
    return {
      ok: false,
      reason: 'insufficient_notice',
      message:
        `a rise of ${fraction.times(100).toDecimalPlaces(2).toFixed()} % needs ${PRICE_RISE_NOTICE_DAYS} days' notice; ` +
        `this gives ${Math.floor(noticeDays)}: move the effective date to ${new Date(change.announcedAt + PRICE_RISE_NOTICE_DAYS * DAY_MS).toISOString()} or later`,
    };
  }
  return { ok: true, change: formatDecimal(fraction) };
}

/** A SKU's state in the catalog. */
export interface SkuRecord {
  readonly id: string;
  readonly status: 'draft' | 'published' | 'deprecated';
  readonly featured: boolean;
  readonly draft?: Sku;
  readonly published?: Sku & { readonly publishedAt: number };
  /** Every version ever published; none can be published again. */
  readonly publishedVersions: readonly string[];
  /** An announced price change, in effect from `effectiveAt`. */
  readonly pendingPrice?: { readonly price: string; readonly announcedAt: number; readonly effectiveAt: number };
  readonly deprecation?: { readonly reason: string; readonly at: number };
}

/** The catalog: SKU records by id. */
export interface SkuCatalog {
  readonly skus: Readonly<Record<string, SkuRecord>>;
}

/** Why a catalog operation was refused. */
export type CatalogError =
  | { readonly code: 'invalid_sku'; readonly message: string; readonly issues: readonly SkuIssue[] }
  | { readonly code: 'not_found' | 'duplicate_version' | 'deprecated' | 'invalid_price' | 'not_in_future' | 'insufficient_notice'; readonly message: string };

/** Outcome of a catalog operation. */
export type CatalogResult = { readonly ok: true; readonly catalog: SkuCatalog } | { readonly ok: false; readonly error: CatalogError };

/** An empty catalog. */
export function emptyCatalog(): SkuCatalog {
  return { skus: {} };
}

/** Looks a SKU up by id. */
export function findSku(catalog: SkuCatalog, id: string): SkuRecord | undefined {
  return getOwn(catalog.skus, id);
}

/** Saves (or replaces) the draft of a SKU. */
export function saveSkuDraft(catalog: SkuCatalog, input: unknown): CatalogResult {
  const validated = validateSku(input);
  if (!validated.ok) return fail({ code: 'invalid_sku', message: 'the SKU is invalid', issues: validated.issues });
  const sku = validated.sku;
  const record = findSku(catalog, sku.id);
  if (record?.publishedVersions.includes(sku.version)) {
    return fail({ code: 'duplicate_version', message: `SKU ${sku.id} version ${sku.version} was already published: bump the version` });
  }
  const next: SkuRecord = record
    ? { ...record, draft: sku }
    : { id: sku.id, status: 'draft', featured: false, draft: sku, publishedVersions: [] };
  return put(catalog, next);
}

/** Publishes the draft of SKU `id`, which must have version `version` (a `CatalogPublish` event). */
export function publishSku(catalog: SkuCatalog, id: string, version: string, now: number): CatalogResult {
  const record = findSku(catalog, id);
  if (record?.publishedVersions.includes(version)) {
    return fail({ code: 'duplicate_version', message: `SKU ${id} version ${version} was already published` });
  }
  const draft = record?.draft;
  if (!record || !draft || draft.version !== version) {
    return fail({ code: 'not_found', message: `SKU ${id} has no draft of version ${version}: save the draft first` });
  }
  const current = record.published;
  if (current && !semverGt(version, current.version)) {
    return fail({ code: 'duplicate_version', message: `version ${version} is not above the published ${current.version}` });
  }
  if (current) {
    const check = checkPriceChange({ currentPrice: currentPrice(record, now) ?? current.price, newPrice: draft.price, announcedAt: now, effectiveAt: now + 1 });
    if (!check.ok && check.reason === 'insufficient_notice') {
      return fail({ code: 'insufficient_notice', message: `publishing ${version} would raise the price at once: ${check.message}` });
    }
  }
  const { draft: _published, ...rest } = record;
  return put(catalog, {
    ...rest,
    status: 'published',
    published: { ...draft, publishedAt: now },
    publishedVersions: [...record.publishedVersions, version],
    // An announced price stays announced: customers were told. Publishing revives a deprecated SKU.
    deprecation: undefined,
  });
}

/** Deprecates a published SKU (a `CatalogDeprecate` event). Still sold to existing customers. */
export function deprecateSku(catalog: SkuCatalog, id: string, reason: string, now: number): CatalogResult {
  const record = findSku(catalog, id);
  if (!record?.published) return fail({ code: 'not_found', message: `SKU ${id} is not published` });
  return put(catalog, { ...record, status: 'deprecated', deprecation: { reason, at: now } });
}

/** Announces a new price for a published SKU (a `CatalogReprice` event), under the price rule. */
export function repriceSku(catalog: SkuCatalog, id: string, change: { price: string; effectiveAt: number }, now: number): CatalogResult {
  const record = findSku(catalog, id);
  if (!record?.published) return fail({ code: 'not_found', message: `SKU ${id} is not published` });
  if (record.status === 'deprecated') return fail({ code: 'deprecated', message: `SKU ${id} is deprecated: its price is frozen` });
  const check = checkPriceChange({
    currentPrice: currentPrice(record, now) ?? record.published.price,
    newPrice: change.price,
    announcedAt: now,
    effectiveAt: change.effectiveAt,
  });
  if (!check.ok) return fail({ code: check.reason, message: check.message });
  return put(catalog, { ...record, pendingPrice: { price: change.price, announcedAt: now, effectiveAt: change.effectiveAt } });
}

/** Features or un-features a SKU; survives later updates and publications. */
export function setSkuFeatured(catalog: SkuCatalog, id: string, featured: boolean): CatalogResult {
  const record = findSku(catalog, id);
  if (!record) return fail({ code: 'not_found', message: `no SKU ${id}` });
  return put(catalog, { ...record, featured });
}

/** The price in effect at `now`, or undefined when the SKU was never published. */
export function currentPrice(record: SkuRecord, now: number): string | undefined {
  if (record.pendingPrice && now >= record.pendingPrice.effectiveAt) return record.pendingPrice.price;
  return record.published?.price;
}

function put(catalog: SkuCatalog, record: SkuRecord): CatalogResult {
  return { ok: true, catalog: { skus: { ...catalog.skus, [record.id]: record } } };
}

function fail(error: CatalogError): CatalogResult {
  return { ok: false, error };
}
