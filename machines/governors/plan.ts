import { BILLING_CYCLES, type BillingCycle } from '../../src/marketplace/proration.ts';
import { isTierId, type TierId } from '../../src/marketplace/tiers.ts';

/**
 * What Subscription, Billing, Entitlement and QuotaSla must agree on about a plan: how a SKU
 * names a tier and a billing cycle, when a trial applies, and when a renewal is due. One module,
 * so the governors cannot drift apart (the seeds spelled SKUs differently in every module).
 *
 * TODO(src/marketplace catalog): SKU parsing belongs to the catalog module once it exists; the
 * SKU grammar here is the one of the event examples (`PRO-MONTHLY`, `ENT-ANNUAL`).
 */

export const DAY_MS = 86_400_000;

/** Trial length for a first paid subscription (seeds: 14 days). */
export const TRIAL_DAYS = 14;

/** A renewal is accepted from this many days before the cycle ends ("renewal approaching"). */
export const RENEWAL_WINDOW_DAYS = 7;

/** After a cancellation, a new subscription reactivates the old one within this window. */
export const REACTIVATION_WINDOW_DAYS = 30;

const TIER_CODES: Readonly<Record<string, TierId>> = {
  COMMUNITY: 'community',
  COM: 'community',
  FREE: 'community',
  PROFESSIONAL: 'professional',
  PRO: 'professional',
  ENTERPRISE: 'enterprise',
  ENT: 'enterprise',
};

const CYCLE_CODES: Readonly<Record<string, BillingCycle>> = {
  MONTHLY: 'monthly',
  ANNUAL: 'annual',
  '2YEAR': 'two_year',
  '3YEAR': 'three_year',
};

/** A SKU read as a plan. */
export interface PlanSku {
  readonly sku: string;
  readonly tier: TierId;
  readonly cycle: BillingCycle;
}

/**
 * Reads a SKU: `<TIER>[-<CYCLE>]`, case-insensitive; tiers COMMUNITY|PRO|PROFESSIONAL|ENT|ENTERPRISE,
 * cycles MONTHLY (the default) | ANNUAL | 2YEAR | 3YEAR. Community is monthly only (it is free).
 */
export function parseSku(sku: unknown): PlanSku | { readonly error: string } {
  if (typeof sku !== 'string' || sku.length === 0 || sku.length > 64) return { error: `SKU must be a string of 1 to 64 characters` };
  const [tierCode = '', cycleCode = 'MONTHLY', ...rest] = sku.toUpperCase().split('-');
  const tier = Object.hasOwn(TIER_CODES, tierCode) ? TIER_CODES[tierCode] : undefined;
  const cycle = Object.hasOwn(CYCLE_CODES, cycleCode) ? CYCLE_CODES[cycleCode] : undefined;
  if (!tier || !cycle || rest.length > 0) {
    return { error: `unknown SKU "${sku}": use <TIER>[-<CYCLE>], e.g. PRO-MONTHLY or ENT-ANNUAL` };
  }
  if (tier === 'community' && cycle !== 'monthly') return { error: `SKU "${sku}": Community is free and monthly only` };
  return { sku: sku.toUpperCase(), tier, cycle };
}

/** Reads a subscription request (`sku` and `tier` must agree). */
export function planOfSubscription(event: { readonly [field: string]: unknown }): PlanSku | { readonly error: string } {
  const plan = parseSku(event.sku);
  if ('error' in plan) return plan;
  const tier = typeof event.tier === 'string' ? event.tier.toLowerCase() : event.tier;
  if (!isTierId(tier)) return { error: `tier must be community, professional or enterprise, got ${JSON.stringify(event.tier)}` };
  if (tier !== plan.tier) return { error: `SKU ${plan.sku} is a ${plan.tier} plan, but the event says ${tier}` };
  return plan;
}

/** A running plan: what a governor keeps about the subscription it serves. */
export interface Plan extends PlanSku {
  /** Epoch ms the current billing cycle started (after any trial). */
  readonly cycleStart: number;
}

/** A first paid subscription gets a trial; Community (free) and returning customers do not. */
export function trialApplies(tier: TierId, trialUsed: boolean): boolean {
  return tier !== 'community' && !trialUsed;
}

/** Starts a plan at `at`: its first cycle begins after the trial, if one applies. */
export function startPlan(sku: PlanSku, at: number, trialUsed: boolean): Plan {
  return { ...sku, cycleStart: at + (trialApplies(sku.tier, trialUsed) ? TRIAL_DAYS * DAY_MS : 0) };
}

export function cycleEnd(plan: Plan): number {
  return plan.cycleStart + BILLING_CYCLES[plan.cycle].days * DAY_MS;
}

/**
 * Whether a renewal at `at` is due: from {@link RENEWAL_WINDOW_DAYS} before the cycle ends. A
 * renewal moves the cycle on by one, so the same renewal delivered twice is not due the second
 * time: no cycle is ever charged twice.
 */
export function renewalCheck(plan: Plan, at: number): { due: true } | { due: false; reason: string } {
  const opens = cycleEnd(plan) - RENEWAL_WINDOW_DAYS * DAY_MS;
  if (at >= opens) return { due: true };
  return { due: false, reason: `renewal not due before ${new Date(opens).toISOString()} (cycle ends ${new Date(cycleEnd(plan)).toISOString()})` };
}

/** The plan after a renewal: the next cycle. */
export function renewPlan(plan: Plan): Plan {
  return { ...plan, cycleStart: cycleEnd(plan) };
}
