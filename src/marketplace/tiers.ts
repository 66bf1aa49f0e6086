/**
 * Licence tiers: every limit and feature gate of SPEC §4, and the paths between tiers.
 *
 * Plain data so governors can show it, persist it and compare it; the functions below are the only
 * place that interprets it.
 */

/** The tiers, lowest first. */
export const TIER_IDS = ['community', 'professional', 'enterprise'] as const;
/** A tier id. */
export type TierId = (typeof TIER_IDS)[number];

/** A limit with no ceiling. A string, not `Infinity`, so limits survive JSON round trips. */
export const UNLIMITED = 'unlimited';
/** A numeric ceiling or {@link UNLIMITED}. */
export type Limit = number | typeof UNLIMITED;

/** Features that a tier (or a licence override) turns on. */
export const FEATURES = ['cloud_deployment', 'custom_domains', 'multi_region', 'priority_support', 'sso'] as const;
/** A feature gate. */
export type Feature = (typeof FEATURES)[number];

/** What a tier allows. */
export interface TierLimits {
  /** Workflows a customer may have defined at once. */
  readonly workflows: Limit;
  /** Workflow executions per calendar month. */
  readonly executionsPerMonth: Limit;
  /** Executions running at the same time. */
  readonly concurrentExecutions: Limit;
  /** API requests per second. */
  readonly requestsPerSecond: Limit;
  /** Marketplace template downloads per UTC day. */
  readonly templateDownloadsPerDay: Limit;
}

/** A tier: its display name, its limits and its feature gates. */
export interface TierDefinition {
  readonly id: TierId;
  readonly name: string;
  /** Position in {@link TIER_IDS}; higher is more. */
  readonly rank: number;
  readonly limits: TierLimits;
  readonly features: Readonly<Record<Feature, boolean>>;
  /**
   * Days of free trial before a first subscription's first paid cycle (0: none). Once per
   * customer, and a subscriber may decline it (`trial: false` on `CustomerSubscribes`).
   */
  readonly trialDays: number;
}

/** The three tiers of SPEC §4. */
export const TIERS: Readonly<Record<TierId, TierDefinition>> = {
  community: {
    id: 'community',
    name: 'Community',
    rank: 0,
    limits: {
      workflows: 5,
      executionsPerMonth: 1_000,
      concurrentExecutions: 1,
      requestsPerSecond: 10,
      templateDownloadsPerDay: 5,
    },
    features: { cloud_deployment: false, custom_domains: false, multi_region: false, priority_support: false, sso: false },
    // Free: nothing to try before paying.
    trialDays: 0,
  },
  professional: {
    id: 'professional',
    name: 'Professional',
    rank: 1,
    limits: {
      workflows: 100,
      executionsPerMonth: 100_000,
      concurrentExecutions: 10,
      requestsPerSecond: 100,
      templateDownloadsPerDay: 100,
    },
    features: { cloud_deployment: true, custom_domains: true, multi_region: false, priority_support: false, sso: false },
    // The seeds' 14-day trial of a first paid subscription.
    trialDays: 14,
  },
  enterprise: {
    id: 'enterprise',
    name: 'Enterprise',
    rank: 2,
    limits: {
      workflows: UNLIMITED,
      executionsPerMonth: UNLIMITED,
      concurrentExecutions: 100,
      requestsPerSecond: 1_000,
      templateDownloadsPerDay: UNLIMITED,
    },
    // Enterprise keeps everything Professional has: a higher tier never loses a feature.
    features: { cloud_deployment: true, custom_domains: true, multi_region: true, priority_support: true, sso: true },
    trialDays: 14,
  },
};

/** True for one of {@link TIER_IDS}. */
export function isTierId(value: unknown): value is TierId {
  return typeof value === 'string' && (TIER_IDS as readonly string[]).includes(value);
}

/**
 * Whether `used` more units stay within `limit` (`used <= limit`).
 * @example withinLimit(TIERS.community.limits.workflows, 5) // true; 6 → false
 */
export function withinLimit(limit: Limit, used: number): boolean {
  return limit === UNLIMITED || used <= limit;
}

/** How many more units fit under `limit` after `used` (never negative; `Infinity` when unlimited). */
export function remainingUnder(limit: Limit, used: number): number {
  return limit === UNLIMITED ? Number.POSITIVE_INFINITY : Math.max(0, limit - used);
}

/**
 * Whether `feature` is on for `tier`, after per-licence `overrides` (an override wins either way:
 * a deal can grant SSO to a Professional customer or withhold cloud deployment).
 */
export function hasFeature(
  tier: TierId,
  feature: Feature,
  overrides: Readonly<Partial<Record<Feature, boolean>>> = {},
): boolean {
  const override = Object.hasOwn(overrides, feature) ? overrides[feature] : undefined;
  return override ?? TIERS[tier].features[feature];
}

/** The kind of a move between tiers. */
export type TierChange = 'upgrade' | 'downgrade' | 'none';

/** Classifies a move from `from` to `to`: upgrades go strictly up, downgrades strictly down. */
export function tierChange(from: TierId, to: TierId): TierChange {
  const delta = TIERS[to].rank - TIERS[from].rank;
  return delta > 0 ? 'upgrade' : delta < 0 ? 'downgrade' : 'none';
}

/** The tiers reachable from `tier` by an upgrade, lowest first. */
export function upgradePaths(tier: TierId): readonly TierId[] {
  return TIER_IDS.filter((t) => tierChange(tier, t) === 'upgrade');
}

/** The tiers reachable from `tier` by a downgrade, highest first. */
export function downgradePaths(tier: TierId): readonly TierId[] {
  return TIER_IDS.filter((t) => tierChange(tier, t) === 'downgrade').reverse();
}
