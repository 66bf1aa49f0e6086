import { cents, estimateMonthlyCost, Money, podHourly, type CostOptions, type MonthlyCostEstimate } from './cost.ts';
import { InvalidDeploymentOptionError } from './errors.ts';
import { CPU_TARGET_PERCENT, MEMORY_TARGET_PERCENT, PROVIDERS, type CloudProvider } from './options.ts';
import { HOURS_PER_MONTH, RATE_TABLE } from './rates.ts';

/** What was measured on the running pods, per pod (a high percentile, e.g. p95 over a week). */
export interface MeasuredUsage {
  readonly cpu: number;
  readonly memoryGiB: number;
}

export interface RecommendationOptions extends CostOptions {
  /** Measured usage per pod; without it there is no right-sizing advice. */
  readonly usage?: MeasuredUsage;
  /**
   * A quiet period each day and how many pods suffice in it.
   * @default { hoursPerDay: 12, replicas: ceil(min ÷ 2), at least 1 }
   */
  readonly offPeak?: { readonly hoursPerDay: number; readonly replicas?: number };
}

export type RecommendationKind = 'right-size' | 'off-peak' | 'cheaper-provider';

export interface Recommendation {
  readonly kind: RecommendationKind;
  /** What to do, in a sentence. */
  readonly action: string;
  /** USD per month saved against the current estimate at min replicas, two decimals, > 0. */
  readonly monthlySaving: string;
}

/** CPU requests move in quarter cores, memory in half GiB: the steps pod-priced platforms bill in. */
const CPU_STEP = 0.25;
const MEMORY_STEP = 0.5;

/**
 * Ways to spend less for the same work, each with its monthly saving against the current estimate
 * at min replicas (the floor that is paid all month), largest first. Savings are computed one by
 * one against the same baseline, so they overlap rather than add up.
 *
 * - **right-size**: requests = measured usage ÷ the autoscaler's target (70 % CPU, 80 % memory),
 *   rounded up to the billing step, when that is below the current size;
 * - **off-peak**: fewer pods during a daily quiet period (a scheduled change of `minReplicas`);
 * - **cheaper-provider**: the same sizing where the rate table makes it cheapest.
 *
 * @example
 * recommendSavings({ provider: 'gcp', tier: 'enterprise', usage: { cpu: 1.1, memoryGiB: 3 } });
 */
export function recommendSavings(options: RecommendationOptions): { estimate: MonthlyCostEstimate; recommendations: Recommendation[] } {
  const estimate = estimateMonthlyCost(options);
  const baseline = new Money(estimate.atMin.total);
  const recommendations: Recommendation[] = [];
  const keep = (kind: RecommendationKind, action: string, saving: Money): void => {
    const rounded = cents(saving);
    if (rounded.greaterThan(0)) recommendations.push({ kind, action, monthlySaving: rounded.toFixed(2) });
  };

  if (options.usage !== undefined) {
    const usage = checkUsage(options.usage);
    const cpu = Math.max(CPU_STEP, roundUp(usage.cpu / (CPU_TARGET_PERCENT / 100), CPU_STEP));
    const memoryGiB = Math.max(MEMORY_STEP, roundUp(usage.memoryGiB / (MEMORY_TARGET_PERCENT / 100), MEMORY_STEP));
    const size = { cpu: Math.min(cpu, estimate.size.cpu), memoryGiB: Math.min(memoryGiB, estimate.size.memoryGiB) };
    if (size.cpu < estimate.size.cpu || size.memoryGiB < estimate.size.memoryGiB) {
      const resized = estimateMonthlyCost({ ...options, size });
      keep(
        'right-size',
        `request ${size.cpu} vCPU and ${size.memoryGiB} GiB per pod instead of ${estimate.size.cpu} vCPU and ` +
          `${estimate.size.memoryGiB} GiB (measured ${usage.cpu} vCPU, ${usage.memoryGiB} GiB at targets ` +
          `${CPU_TARGET_PERCENT} %/${MEMORY_TARGET_PERCENT} %)`,
        baseline.minus(resized.atMin.total),
      );
    }
  }

  const min = estimate.atMin.replicas;
  const hoursPerDay = options.offPeak?.hoursPerDay ?? 12;
  const quietReplicas = options.offPeak?.replicas ?? Math.max(1, Math.ceil(min / 2));
  if (!(Number.isFinite(hoursPerDay) && hoursPerDay > 0 && hoursPerDay < 24)) {
    throw new InvalidDeploymentOptionError('offPeak.hoursPerDay', hoursPerDay, 'a number of hours > 0 and < 24');
  }
  if (!Number.isInteger(quietReplicas) || quietReplicas < 1) {
    throw new InvalidDeploymentOptionError('offPeak.replicas', quietReplicas, 'a whole number ≥ 1');
  }
  if (quietReplicas < min) {
    const hourly = podHourly(RATE_TABLE[estimate.provider], estimate.size);
    // Hours per month in the quiet period: hoursPerDay × (730 ÷ 24) days.
    const quietHours = new Money(hoursPerDay).times(HOURS_PER_MONTH).dividedBy(24);
    keep(
      'off-peak',
      `run ${quietReplicas} instead of ${min} pods for ${hoursPerDay} quiet hours a day (lower minReplicas on a schedule)`,
      hourly.times(min - quietReplicas).times(quietHours),
    );
  }

  const others = PROVIDERS.filter((provider) => provider !== estimate.provider).map((provider: CloudProvider) =>
    estimateMonthlyCost({ ...options, provider, size: estimate.size, egressGb: estimate.egressGb }),
  );
  const cheapest = others.reduce<MonthlyCostEstimate | undefined>(
    (best, other) => (best === undefined || new Money(other.atMin.total).lessThan(best.atMin.total) ? other : best),
    undefined,
  );
  if (cheapest) {
    keep(
      'cheaper-provider',
      `run the same sizing on ${cheapest.provider} (${cheapest.region}) at $${cheapest.atMin.total} a month instead of $${estimate.atMin.total}`,
      baseline.minus(cheapest.atMin.total),
    );
  }

  recommendations.sort((a, b) => new Money(b.monthlySaving).comparedTo(a.monthlySaving));
  return { estimate, recommendations };
}

function roundUp(value: number, step: number): number {
  // Through Money: 0.7 / 0.25 in binary floats is 2.8000000000000003, which would round up a step.
  return new Money(value).dividedBy(step).toDecimalPlaces(9).ceil().times(step).toNumber();
}

function checkUsage(usage: MeasuredUsage): MeasuredUsage {
  if (typeof usage !== 'object' || usage === null) throw new InvalidDeploymentOptionError('usage', usage, 'an object { cpu, memoryGiB }');
  for (const [name, value] of [['usage.cpu', usage.cpu], ['usage.memoryGiB', usage.memoryGiB]] as const) {
    if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
      throw new InvalidDeploymentOptionError(name, value, 'a measured amount ≥ 0');
    }
  }
  return usage;
}
