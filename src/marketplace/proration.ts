import { InvalidArgumentError } from './errors.ts';
import { Dec, formatCents, formatDecimal, type Dec as Decimal } from './money.ts';
import { PRICE_PLANS } from './pricing.ts';
import { TIERS, tierChange, type TierId } from './tiers.ts';

/**
 * Billing cycles and proration of a tier change (`reference/seed-sources.md` § Subscription).
 *
 * - Daily rate = monthly base fee × (1 − cycle discount) / 30, exact.
 * - Days left = whole days from the change to the cycle end, the current day included (the new
 *   tier applies to all of today): `cycleDays − floor((now − cycleStart) / 1 day)`, always in
 *   `1..cycleDays`; a change outside the cycle is refused rather than wrapped (a seed defect).
 * - Amount = |new daily − old daily| × days left, rounded HALF_UP to the cent once. An upgrade
 *   is a charge, a downgrade a credit (never a negative charge).
 */

/** A billing cycle: its length and its discount on the monthly price. */
export interface BillingCycleDefinition {
  readonly days: number;
  /** Fraction off, decimal string: `"0.10"` is 10 %. */
  readonly discount: string;
}

/** The billing cycles. */
export const BILLING_CYCLES = {
  monthly: { days: 30, discount: '0' },
  annual: { days: 365, discount: '0.10' },
  two_year: { days: 730, discount: '0.20' },
  three_year: { days: 1095, discount: '0.30' },
} as const satisfies Record<string, BillingCycleDefinition>;

/** A billing cycle id. */
export type BillingCycle = keyof typeof BILLING_CYCLES;

const DAY_MS = 86_400_000;

/** Exact daily rate of a tier on a cycle, USD (unrounded). */
export function dailyRate(tier: TierId, cycle: BillingCycle): string {
  return formatDecimal(dailyRateOf(tier, cycle));
}

/** What a whole cycle costs: daily rate × cycle days, rounded to the cent. */
export function cyclePrice(tier: TierId, cycle: BillingCycle): string {
  return formatCents(dailyRateOf(tier, cycle).times(BILLING_CYCLES[cycle].days));
}

/** A tier change to prorate. */
export interface TierChangeRequest {
  readonly from: TierId;
  readonly to: TierId;
  readonly cycle: BillingCycle;
  /** Start of the current cycle, epoch ms. */
  readonly cycleStart: number;
  /** When the change takes effect, epoch ms. */
  readonly at: number;
}

/** A prorated tier change. Amounts are USD decimal strings. */
export type Proration =
  | {
      readonly ok: true;
      readonly change: 'upgrade' | 'downgrade';
      /** An upgrade is charged now; a downgrade becomes credit on the next invoice. */
      readonly direction: 'charge' | 'credit';
      /** Always ≥ 0. */
      readonly amount: string;
      readonly daysLeft: number;
      readonly oldDailyRate: string;
      readonly newDailyRate: string;
    }
  | { readonly ok: false; readonly reason: 'same_tier' | 'outside_cycle'; readonly message: string };

/**
 * Prorates a tier change by the days left in the cycle.
 * @example
 * prorateTierChange({ from: 'professional', to: 'enterprise', cycle: 'monthly', cycleStart, at })
 * // with 15 days left: { ok: true, change: 'upgrade', direction: 'charge', amount: '450.00', … }
 */
export function prorateTierChange(request: TierChangeRequest): Proration {
  const change = tierChange(request.from, request.to);
  if (change === 'none') {
    return { ok: false, reason: 'same_tier', message: `already on ${TIERS[request.to].name}: nothing to prorate` };
  }
  if (!Number.isSafeInteger(request.cycleStart) || !Number.isSafeInteger(request.at)) {
    throw new InvalidArgumentError('cycleStart/at', 'must be integer epoch milliseconds');
  }
  const cycleDays = BILLING_CYCLES[request.cycle].days;
  const elapsedDays = Math.floor((request.at - request.cycleStart) / DAY_MS);
  if (request.at < request.cycleStart || elapsedDays >= cycleDays) {
    return {
      ok: false,
      reason: 'outside_cycle',
      message: `the change at ${new Date(request.at).toISOString()} is outside the ${request.cycle} cycle that started ` +
        `${new Date(request.cycleStart).toISOString()}: prorate against the cycle the change falls in`,
    };
  }
  const daysLeft = cycleDays - elapsedDays;
  const oldRate = dailyRateOf(request.from, request.cycle);
  const newRate = dailyRateOf(request.to, request.cycle);
  return {
    ok: true,
    change,
    direction: change === 'upgrade' ? 'charge' : 'credit',
    amount: formatCents(newRate.minus(oldRate).abs().times(daysLeft)),
    daysLeft,
    oldDailyRate: formatDecimal(oldRate),
    newDailyRate: formatDecimal(newRate),
  };
}

function dailyRateOf(tier: TierId, cycle: BillingCycle): Decimal {
  const monthly = new Dec(PRICE_PLANS[tier].baseFee);
  return monthly.times(new Dec(1).minus(BILLING_CYCLES[cycle].discount)).dividedBy(30);
}
