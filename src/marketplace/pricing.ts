import { Dec, formatCents, formatDecimal, parseAmount, parseQuantity, roundToCents, sum, type Quantity } from './money.ts';
import { TIERS, UNLIMITED, type TierId } from './tiers.ts';

/**
 * Price plans (SPEC §4) and usage pricing.
 *
 * Enterprise overage rates are ours (SPEC only says "lower"): $0.03 per GB-h, $0.05 per GB,
 * $0.000005 per API call; its executions are unlimited. Community has no overage at all: its
 * allowances are hard limits enforced by quota, so usage above them is reported in `overLimit`
 * and never billed. Community API calls are not metered (its 10 req/s limit bounds them).
 */

/** Metered usage. */
export const METRICS = ['executions', 'compute_gb_hours', 'transfer_gb', 'api_calls'] as const;
/** One metered quantity. */
export type Metric = (typeof METRICS)[number];

/** Pricing of one metric in one plan. */
export interface MetricPricing {
  /** Quantity included in the base fee each month, or unlimited. */
  readonly included: string | typeof UNLIMITED;
  /** USD per unit above `included`; `null` when the allowance is a hard limit (never billed). */
  readonly overageRate: string | null;
  /** What is counted, for invoice line descriptions. */
  readonly label: string;
}

/** A tier's price plan. */
export interface PricePlan {
  readonly tier: TierId;
  readonly currency: 'USD';
  /** Monthly base fee, USD. */
  readonly baseFee: string;
  readonly metrics: Readonly<Record<Metric, MetricPricing>>;
}

/** Price plans by tier. */
export const PRICE_PLANS: Readonly<Record<TierId, PricePlan>> = {
  community: {
    tier: 'community',
    currency: 'USD',
    baseFee: '0.00',
    metrics: {
      executions: { included: '1000', overageRate: null, label: 'Executions' },
      compute_gb_hours: { included: '10', overageRate: null, label: 'Compute GB-hours' },
      transfer_gb: { included: '5', overageRate: null, label: 'Transfer GB' },
      api_calls: { included: UNLIMITED, overageRate: null, label: 'API calls' },
    },
  },
  professional: {
    tier: 'professional',
    currency: 'USD',
    baseFee: '99.00',
    metrics: {
      executions: { included: '100000', overageRate: '0.01', label: 'Executions' },
      compute_gb_hours: { included: '500', overageRate: '0.05', label: 'Compute GB-hours' },
      transfer_gb: { included: '100', overageRate: '0.10', label: 'Transfer GB' },
      api_calls: { included: '0', overageRate: '0.00001', label: 'API calls' },
    },
  },
  enterprise: {
    tier: 'enterprise',
    currency: 'USD',
    baseFee: '999.00',
    metrics: {
      executions: { included: UNLIMITED, overageRate: null, label: 'Executions' },
      compute_gb_hours: { included: '100000', overageRate: '0.03', label: 'Compute GB-hours' },
      transfer_gb: { included: '10000', overageRate: '0.05', label: 'Transfer GB' },
      api_calls: { included: '0', overageRate: '0.000005', label: 'API calls' },
    },
  },
};

/** Usage for a period; a missing metric counts as zero. */
export type UsageQuantities = Readonly<Partial<Record<Metric, Quantity>>>;

/** One priced line. All amounts are decimal strings; `amount` is rounded to the cent. */
export interface ChargeLine {
  /** Stable line code: `base_fee`, `overage.<metric>`, or a caller's adjustment code. */
  readonly code: string;
  readonly description: string;
  /** Exact quantity billed. */
  readonly quantity: string;
  /** Exact unit price, USD. */
  readonly unitPrice: string;
  /** `quantity × unitPrice` rounded HALF_UP to the cent; never negative. */
  readonly amount: string;
}

/** Usage priced against a plan. */
export interface PricedUsage {
  readonly tier: TierId;
  readonly lines: readonly ChargeLine[];
  /** Sum of line amounts, USD. */
  readonly total: string;
  /** Metrics over a hard allowance (Community): not billed, to be blocked by quota. */
  readonly overLimit: readonly Metric[];
}

/**
 * Prices a month's usage: the base fee plus one line per metric with billable overage.
 * Throws {@link InvalidAmountError} for a negative or non-decimal quantity.
 * @example
 * priceUsage('professional', { executions: 150_000, compute_gb_hours: 600, transfer_gb: 120, api_calls: 1_000_000 }).total
 * // "616.00"
 */
export function priceUsage(tier: TierId, usage: UsageQuantities): PricedUsage {
  const plan = PRICE_PLANS[tier];
  const lines: ChargeLine[] = [line('base_fee', `${TIERS[tier].name} plan, monthly base fee`, new Dec(1), parseAmount(plan.baseFee))];
  const overLimit: Metric[] = [];
  for (const metric of METRICS) {
    const used = quantityOf(usage, metric);
    const pricing = plan.metrics[metric];
    if (pricing.included === UNLIMITED) continue;
    const over = used.minus(parseAmount(pricing.included));
    if (over.lte(0)) continue;
    if (pricing.overageRate === null) {
      overLimit.push(metric);
      continue;
    }
    lines.push(
      line(
        `overage.${metric}`,
        `${pricing.label} over the ${pricing.included} included`,
        over,
        parseAmount(pricing.overageRate),
      ),
    );
  }
  return { tier, lines, total: formatCents(sum(lines.map((l) => new Dec(l.amount)))), overLimit };
}

/** A cost estimate before running something. */
export interface CostEstimate {
  /** This month's charges before the planned usage, USD. */
  readonly before: string;
  /** This month's charges if the planned usage runs, USD. */
  readonly after: string;
  /** `after − before`: what running it adds, USD. */
  readonly incremental: string;
  /** False when the planned usage would cross a hard allowance of the tier. */
  readonly allowed: boolean;
  /** Metrics whose hard allowance would be crossed. */
  readonly overLimit: readonly Metric[];
}

/**
 * Estimates what planned usage (one execution, a batch…) adds to this month's bill, given what
 * was used so far, and whether the tier allows it at all.
 */
export function estimateCost(tier: TierId, usedSoFar: UsageQuantities, planned: UsageQuantities): CostEstimate {
  const combined: Partial<Record<Metric, string>> = {};
  for (const metric of METRICS) {
    combined[metric] = formatDecimal(quantityOf(usedSoFar, metric).plus(quantityOf(planned, metric)));
  }
  const before = priceUsage(tier, usedSoFar);
  const after = priceUsage(tier, combined);
  const newlyOver = after.overLimit.filter((m) => quantityOf(planned, m).gt(0));
  return {
    before: before.total,
    after: after.total,
    incremental: formatCents(new Dec(after.total).minus(before.total)),
    allowed: newlyOver.length === 0,
    overLimit: newlyOver,
  };
}

/** Builds a line: the amount is the exact product rounded once, here. @internal */
export function line(code: string, description: string, quantity: Dec, unitPrice: Dec): ChargeLine {
  return {
    code,
    description,
    quantity: formatDecimal(quantity),
    unitPrice: formatDecimal(unitPrice),
    amount: formatCents(roundToCents(quantity.times(unitPrice))),
  };
}

function quantityOf(usage: UsageQuantities, metric: Metric): Dec {
  const value = Object.hasOwn(usage, metric) ? usage[metric] : undefined;
  return value === undefined ? new Dec(0) : parseQuantity(value, `usage.${metric}`);
}
