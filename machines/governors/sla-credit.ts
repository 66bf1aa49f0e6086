import { Dec, formatDecimal } from '../../src/marketplace/money.ts';
import type { TierId } from '../../src/marketplace/tiers.ts';

/**
 * SLA targets per tier and the credit a missed month earns (seeds, QuotaSla):
 *
 * | | Enterprise | Professional | Community (the seeds' Starter) |
 * |---|---|---|---|
 * | uptime | 99.99 % | 99.9 % | 99.5 % |
 * | p99 latency | 100 ms | 500 ms | 2000 ms |
 * | error rate | 0.01 % | 0.1 % | 1 % |
 *
 * Credit, as a percentage of the month's base fee: 10 points per percentage point of uptime
 * shortfall, plus 5 for a p99 miss, plus 5 for an error-rate miss, capped at 25. Exact decimals,
 * so 99.9 − 99.5 is 0.4, not 0.40000000000000568.
 */
export interface SlaTarget {
  readonly uptimePercent: string;
  readonly p99Ms: number;
  readonly errorRatePercent: string;
}

export const SLA_TARGETS: Readonly<Record<TierId, SlaTarget>> = {
  enterprise: { uptimePercent: '99.99', p99Ms: 100, errorRatePercent: '0.01' },
  professional: { uptimePercent: '99.9', p99Ms: 500, errorRatePercent: '0.1' },
  community: { uptimePercent: '99.5', p99Ms: 2000, errorRatePercent: '1' },
};

export const SLA_CREDIT_CAP_PERCENT = 25;

/** A month as measured. Numbers are read through their decimal spelling. */
export interface SlaMeasurement {
  readonly uptimePercent: number | string;
  readonly p99Ms: number;
  readonly errorRatePercent: number | string;
}

const isMeasure = (value: unknown): value is number | string => (typeof value === 'number' && Number.isFinite(value)) || typeof value === 'string';

/**
 * A month's measurements as a caller sent them (the `sla` query's arguments), checked field by
 * field: a missing or non-numeric one is an error naming it, never a target taken as met.
 */
export function slaMeasurementOf(sent: Readonly<Record<string, unknown>>): SlaMeasurement | { error: string } {
  const { uptimePercent, p99Ms, errorRatePercent } = sent;
  if (!isMeasure(uptimePercent)) return { error: 'uptimePercent must be a finite number or a decimal string' };
  if (typeof p99Ms !== 'number' || !Number.isFinite(p99Ms) || p99Ms < 0) return { error: 'p99Ms must be a finite number ≥ 0' };
  if (!isMeasure(errorRatePercent)) return { error: 'errorRatePercent must be a finite number or a decimal string' };
  return { uptimePercent, p99Ms, errorRatePercent };
}

/** The credit earned, as a percentage of the base fee (decimal string), with what was missed. */
export function slaCredit(tier: TierId, measured: SlaMeasurement): { creditPercent: string; missed: string[] } {
  const target = SLA_TARGETS[tier];
  const missed: string[] = [];
  let credit = new Dec(0);
  const shortfall = new Dec(target.uptimePercent).minus(new Dec(measured.uptimePercent));
  if (shortfall.gt(0)) {
    missed.push('uptime');
    credit = credit.plus(shortfall.times(10));
  }
  if (measured.p99Ms > target.p99Ms) {
    missed.push('p99');
    credit = credit.plus(5);
  }
  if (new Dec(measured.errorRatePercent).gt(target.errorRatePercent)) {
    missed.push('error_rate');
    credit = credit.plus(5);
  }
  return { creditPercent: formatDecimal(Dec.min(credit, SLA_CREDIT_CAP_PERCENT).toDecimalPlaces(2)), missed };
}
