import { Dec, roundToCents } from '../marketplace/money.ts';
import { InvalidDeploymentOptionError } from './errors.ts';
import { checkProvider, checkReplicas, checkTier, TIER_SIZING, type CloudProvider, type DeploymentTier, type ReplicaRange } from './options.ts';
import { HOURS_PER_MONTH, RATE_TABLE, RATES_AS_OF, type ProviderRates } from './rates.ts';

/**
 * Money arithmetic is the domain's own exact decimal (`../money.ts`): amounts are rounded to the
 * cent half-up once per line item, and totals are sums of rounded lines, so a printed estimate
 * always adds up.
 */
export const Money = Dec;
export type Money = Dec;

export interface CostOptions {
  readonly provider: CloudProvider;
  readonly tier: DeploymentTier;
  /** @default the tier's range */
  readonly replicas?: ReplicaRange;
  /** Per-pod resources, when they differ from the tier's (e.g. after right-sizing). */
  readonly size?: { readonly cpu: number; readonly memoryGiB: number };
  /** @default the transfer the tier includes (5 / 100 / 10,000 GB) */
  readonly egressGb?: number;
}

export type CostItem = 'compute-cpu' | 'compute-memory' | 'redis' | 'egress';

export interface CostLine {
  readonly item: CostItem;
  readonly description: string;
  /** USD per month, two decimals. */
  readonly monthly: string;
}

export interface CostBreakdown {
  readonly replicas: number;
  readonly lines: readonly CostLine[];
  /** USD per month, two decimals: the sum of the lines. */
  readonly total: string;
}

/** A monthly estimate: the floor (min replicas all month) and the ceiling (max replicas all month). */
export interface MonthlyCostEstimate {
  readonly provider: CloudProvider;
  readonly region: string;
  readonly tier: DeploymentTier;
  readonly currency: 'USD';
  readonly ratesAsOf: string;
  readonly hoursPerMonth: number;
  readonly size: { readonly cpu: number; readonly memoryGiB: number };
  readonly egressGb: number;
  /** One pod for a month (CPU + memory), two decimals. */
  readonly perReplicaMonthly: string;
  readonly atMin: CostBreakdown;
  readonly atMax: CostBreakdown;
}

/**
 * Estimates the monthly cost of running Governor on one provider: pod CPU and memory at the
 * provider's per-vCPU-hour and per-GB-hour rates, managed Redis sized for the tier, and internet
 * egress, at the bottom and the top of the replica range. Rates: {@link RATE_TABLE}, dated
 * {@link RATES_AS_OF}; approximate list prices, not a quote.
 *
 * @throws UnknownProviderError | UnknownTierError | InvalidReplicasError | InvalidDeploymentOptionError
 * @example
 * const estimate = estimateMonthlyCost({ provider: 'aws', tier: 'professional', replicas: { min: 2, max: 6 } });
 * estimate.atMin.total; // '…' USD per month with 2 pods
 */
export function estimateMonthlyCost(options: CostOptions): MonthlyCostEstimate {
  const provider = checkProvider(options.provider);
  const tier = checkTier(options.tier);
  const sizing = TIER_SIZING[tier];
  const replicas = options.replicas === undefined ? sizing.replicas : checkReplicas(options.replicas);
  const size = options.size === undefined ? { cpu: sizing.cpu, memoryGiB: sizing.memoryGiB } : checkSize(options.size);
  const egressGb = options.egressGb ?? sizing.egressGb;
  if (typeof egressGb !== 'number' || !Number.isFinite(egressGb) || egressGb < 0) {
    throw new InvalidDeploymentOptionError('egressGb', egressGb, 'a number of GB ≥ 0');
  }
  const rates = RATE_TABLE[provider];
  return {
    provider,
    region: rates.region,
    tier,
    currency: 'USD',
    ratesAsOf: RATES_AS_OF,
    hoursPerMonth: HOURS_PER_MONTH,
    size,
    egressGb,
    perReplicaMonthly: cents(podMonthly(rates, size)).toFixed(2),
    atMin: breakdown(rates, tier, size, replicas.min, egressGb),
    atMax: breakdown(rates, tier, size, replicas.max, egressGb),
  };
}

/** One pod's CPU and memory for a month, unrounded. */
export function podMonthly(rates: ProviderRates, size: { cpu: number; memoryGiB: number }): Money {
  return podHourly(rates, size).times(HOURS_PER_MONTH);
}

/** One pod's CPU and memory for an hour, unrounded. */
export function podHourly(rates: ProviderRates, size: { cpu: number; memoryGiB: number }): Money {
  return new Money(rates.vcpuHour).times(size.cpu).plus(new Money(rates.gbHour).times(size.memoryGiB));
}

function breakdown(
  rates: ProviderRates,
  tier: DeploymentTier,
  size: { cpu: number; memoryGiB: number },
  replicas: number,
  egressGb: number,
): CostBreakdown {
  const podHours = new Money(replicas).times(HOURS_PER_MONTH);
  const lines: CostLine[] = [
    {
      item: 'compute-cpu',
      description: `${replicas} × ${size.cpu} vCPU × ${HOURS_PER_MONTH} h at $${rates.vcpuHour}/vCPU-h (${rates.computeProduct})`,
      monthly: cents(podHours.times(size.cpu).times(rates.vcpuHour)).toFixed(2),
    },
    {
      item: 'compute-memory',
      description: `${replicas} × ${size.memoryGiB} GB × ${HOURS_PER_MONTH} h at $${rates.gbHour}/GB-h`,
      monthly: cents(podHours.times(size.memoryGiB).times(rates.gbHour)).toFixed(2),
    },
    { item: 'redis', description: rates.redis[tier].product, monthly: cents(new Money(rates.redis[tier].monthly)).toFixed(2) },
    {
      item: 'egress',
      description: `${egressGb} GB internet egress at $${rates.egressPerGb}/GB`,
      monthly: cents(new Money(egressGb).times(rates.egressPerGb)).toFixed(2),
    },
  ];
  const total = lines.reduce((sum, line) => sum.plus(line.monthly), new Money(0));
  return { replicas, lines, total: total.toFixed(2) };
}

/** Rounds to the cent, half-up. */
export function cents(amount: Money): Money {
  return roundToCents(amount);
}

function checkSize(size: { cpu: number; memoryGiB: number }): { cpu: number; memoryGiB: number } {
  if (typeof size !== 'object' || size === null) throw new InvalidDeploymentOptionError('size', size, 'an object { cpu, memoryGiB }');
  if (typeof size.cpu !== 'number' || !Number.isFinite(size.cpu) || size.cpu <= 0 || size.cpu > 256) {
    throw new InvalidDeploymentOptionError('size.cpu', size.cpu, 'a number of vCPU > 0 and ≤ 256');
  }
  if (typeof size.memoryGiB !== 'number' || !Number.isFinite(size.memoryGiB) || size.memoryGiB <= 0 || size.memoryGiB > 1024) {
    throw new InvalidDeploymentOptionError('size.memoryGiB', size.memoryGiB, 'a number of GiB > 0 and ≤ 1024');
  }
  return { cpu: size.cpu, memoryGiB: size.memoryGiB };
}
