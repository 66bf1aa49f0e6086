import { BILLING_CYCLES, type BillingCycle } from '../../src/marketplace/proration.ts';
import { TIERS, isTierId, type TierId } from '../../src/marketplace/tiers.ts';

/**
 * What Subscription, Billing, Entitlement and QuotaSla must agree on about a plan: how a SKU
 * names a tier and a billing cycle, when a trial applies (the catalog's trial length of the tier,
 * `TIERS[tier].trialDays`), and when a renewal is due. One module,
 * so the governors cannot drift apart (the seeds spelled SKUs differently in every module).
 *
 * TODO(src/marketplace catalog): SKU parsing belongs to the catalog module once it exists; the
 * SKU grammar here is the one of the event examples (`PRO-MONTHLY`, `ENT-ANNUAL`).
 */

export const DAY_MS = 86_400_000;

/** The longest trial of any tier (seeds: 14 days): a Trial timer's wait when its plan is unknown. */
export const TRIAL_DAYS = Math.max(...Object.values(TIERS).map((t) => t.trialDays));

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

/**
 * Whether a subscription starts with a trial: the tier has one (the catalog's `trialDays`;
 * Community has none), the customer has not had one, and did not decline it (`requested`).
 */
export function trialApplies(tier: TierId, trialUsed: boolean, requested = true): boolean {
  return requested && !trialUsed && TIERS[tier].trialDays > 0;
}

/** Starts a plan at `at`: with a trial, its first cycle begins when the tier's trial ends. */
export function startPlan(sku: PlanSku, at: number, trial: boolean): Plan {
  return { ...sku, cycleStart: at + (trial && TIERS[sku.tier].trialDays > 0 ? TIERS[sku.tier].trialDays * DAY_MS : 0) };
}

/**
 * What a `CustomerSubscribes` starts, for every governor that keeps a plan (Subscription and
 * Billing must agree): the plan from the event's business time, whether it is a trial, and
 * whether the customer's trial is used after it (once offered, taken or declined). The
 * event's optional `trial` (`false`: no trial, the first cycle starts at once) must be a boolean.
 */
export function subscriptionStart(
  event: { readonly occurredAt: string; readonly [field: string]: unknown },
  trialUsed: boolean,
): { readonly plan: Plan; readonly trial: boolean; readonly trialUsed: boolean } | { readonly error: string } {
  const sku = planOfSubscription(event);
  if ('error' in sku) return sku;
  if (event.trial !== undefined && typeof event.trial !== 'boolean') return { error: `trial must be true or false, got ${JSON.stringify(event.trial)}` };
  const trial = trialApplies(sku.tier, trialUsed, event.trial !== false);
  // The trial is offered with a customer's first paid subscription: taken or declined, it is used.
  return { plan: startPlan(sku, Date.parse(event.occurredAt), trial), trial, trialUsed: trialUsed || TIERS[sku.tier].trialDays > 0 };
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
