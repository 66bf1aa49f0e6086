import type { TelemetryTier } from './events.ts';

/** Events without a tier are counted under this name. */
export const UNKNOWN_TIER = 'unknown';

export type AdoptionTier = TelemetryTier | typeof UNKNOWN_TIER;

/** How one feature is used within one tier. */
export interface FeatureAdoption {
  /** `feature_adoption` events recorded. */
  readonly uses: number;
  /** Distinct organisations that used it. */
  readonly organisations: number;
  /** `organisations` ÷ organisations seen in the tier (0–1), rounded to four places. */
  readonly rate: number;
}

export interface TierAdoption {
  /** Distinct organisations seen in this tier by any event. */
  readonly organisations: number;
  readonly features: Record<string, FeatureAdoption>;
}

/**
 * Feature adoption per tier: for each tier, which features are used, how often and by how many of
 * the tier's organisations. Organisations are held as their anonymous tokens, never raw ids.
 */
export class AdoptionTracker {
  readonly #seen = new Map<AdoptionTier, Set<string>>();
  readonly #features = new Map<AdoptionTier, Map<string, { uses: number; organisations: Set<string> }>>();

  /** Notes that an organisation is active in a tier (any event). */
  seen(tier: TelemetryTier | undefined, organisation: string): void {
    const key = tier ?? UNKNOWN_TIER;
    let organisations = this.#seen.get(key);
    if (!organisations) this.#seen.set(key, (organisations = new Set()));
    organisations.add(organisation);
  }

  /** Records one use of a feature (a `feature_adoption` event). */
  adopted(tier: TelemetryTier | undefined, feature: string, organisation: string): void {
    const key = tier ?? UNKNOWN_TIER;
    this.seen(tier, organisation);
    let features = this.#features.get(key);
    if (!features) this.#features.set(key, (features = new Map()));
    let entry = features.get(feature);
    if (!entry) features.set(feature, (entry = { uses: 0, organisations: new Set() }));
    entry.uses += 1;
    entry.organisations.add(organisation);
  }

  /** Adoption by tier, then by feature. */
  summary(): Partial<Record<AdoptionTier, TierAdoption>> {
    const out: Partial<Record<AdoptionTier, TierAdoption>> = {};
    for (const [tier, organisations] of this.#seen) {
      const features: Record<string, FeatureAdoption> = {};
      const entries = [...(this.#features.get(tier) ?? new Map())].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
      for (const [feature, entry] of entries) {
        features[feature] = {
          uses: entry.uses,
          organisations: entry.organisations.size,
          rate: Math.round((entry.organisations.size / organisations.size) * 10_000) / 10_000,
        };
      }
      out[tier] = { organisations: organisations.size, features };
    }
    return out;
  }

  reset(): void {
    this.#seen.clear();
    this.#features.clear();
  }
}
