import type { TierId } from '../../src/marketplace/tiers.ts';

/**
 * Fairness between tenants sharing capacity (seeds, MultiTenant), as pure functions a node's
 * scheduler can apply across the tenants it hosts: the per-customer MultiTenant governor sees one
 * tenant only, so the comparisons between tenants live here.
 *
 * TODO(src/runtime or src/transport): apply `fairShares` to per-tenant queue concurrency.
 */

/** Tier weights of the fair share (seeds: Enterprise 0.40, Professional 0.35, Starter 0.25). */
export const TIER_WEIGHTS: Readonly<Record<TierId, number>> = { enterprise: 40, professional: 35, community: 25 };

/**
 * Splits `capacity` units among tenants in proportion to their tier weights, in whole units, by
 * largest remainder (ties by tenant id), so the shares always add up to the capacity.
 */
export function fairShares(tenants: ReadonlyArray<{ id: string; tier: TierId }>, capacity: number): Record<string, number> {
  if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`capacity must be a whole number ≥ 0, got ${capacity}`);
  const total = tenants.reduce((sum, t) => sum + TIER_WEIGHTS[t.tier], 0);
  const shares: Record<string, number> = {};
  if (total === 0) return shares;
  const remainders = tenants.map((t) => {
    const exact = (capacity * TIER_WEIGHTS[t.tier]) / total;
    shares[t.id] = Math.floor(exact);
    return { id: t.id, rest: exact - Math.floor(exact) };
  });
  let left = capacity - Object.values(shares).reduce((a, b) => a + b, 0);
  for (const { id } of remainders.sort((a, b) => b.rest - a.rest || (a.id < b.id ? -1 : 1))) {
    if (left-- <= 0) break;
    shares[id]! += 1;
  }
  return shares;
}

/** A tenant's resource use, as percentages (0–100) and a rate. */
export interface TenantMetrics {
  readonly cpu: number;
  readonly network: number;
  readonly disk: number;
  readonly evictionRate: number;
}

/**
 * The noisy neighbours among tenants (seeds' rules): CPU over 80 while every other tenant is
 * under 20; more than half of all network use; disk over 90; eviction rate over 50.
 *
 * Fixed from the seeds: a neighbour needs neighbours — with a single tenant, high CPU or most of
 * the bandwidth is just load, never noise (the seeds flagged any lone tenant over 80).
 */
export function noisyNeighbours(metrics: Readonly<Record<string, TenantMetrics>>): string[] {
  const ids = Object.keys(metrics).sort();
  if (ids.length < 2) return [];
  const network = ids.reduce((sum, id) => sum + metrics[id]!.network, 0);
  return ids.filter((id) => {
    const m = metrics[id]!;
    const others = ids.filter((o) => o !== id);
    return (
      (m.cpu > 80 && others.every((o) => metrics[o]!.cpu < 20)) ||
      (network > 0 && m.network / network > 0.5) ||
      m.disk > 90 ||
      m.evictionRate > 50
    );
  });
}

/** What is shed under pressure (seeds): analytics and recommendations, then in an emergency also caching, logging and metrics. */
export const SHED_UNDER_PRESSURE = ['analytics', 'recommendations'] as const;
export const SHED_IN_EMERGENCY = [...SHED_UNDER_PRESSURE, 'caching', 'logging', 'metrics'] as const;
