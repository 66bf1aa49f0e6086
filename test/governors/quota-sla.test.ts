import { describe, expect, it } from 'vitest';
import { evaluateUsage, isHardLimit, quotaSlaGovernor, type QuotaData, type QuotaState } from '../../machines/governors/quota-sla.ts';
import { slaCredit } from '../../machines/governors/sla-credit.ts';
import { createUsageLedger, recordUsage } from '../../src/marketplace/usage-ledger.ts';
import { checkRow, ev, given, type Row } from './domain-support.ts';

const subscribe = (sku = 'COMMUNITY', tier = 'community') => ev('CustomerSubscribes', { sku, tier });
const used = (quantity: number, key: string, atDays = 1) => ev('UsageRecorded', { metric: 'executions', quantity, idempotencyKey: key }, atDays);
const breach = (resource: string, usage: number, limit: number) => ev('UsageExceedsQuota', { resource, usage, limit });

const rows: Row<QuotaState, QuotaData>[] = [
  { name: 'usage under 80 % is within limits', history: [subscribe()], event: used(799, 'a'), status: 'applied', state: 'WithinLimits' },
  { name: 'usage at 80 % warns', history: [subscribe()], event: used(800, 'a'), status: 'applied', state: 'Warning' },
  { name: 'Community’s allowances are hard: crossing one throttles', history: [subscribe(), used(800, 'a')], event: used(201, 'b'), status: 'applied', state: 'Throttled' },
  { name: 'Professional’s are soft: crossing one is billed overage', history: [subscribe('PRO-MONTHLY', 'professional')], event: used(100_001, 'a'), status: 'applied', state: 'Exceeded' },
  { name: 'a usage key counts once', history: [subscribe(), used(800, 'a')], event: used(800, 'a'), status: 'not_applicable', reason: /counted already/ },
  { name: 'usage without a plan is refused', history: [], event: used(1, 'a'), status: 'rejected', reason: /no plan/ },
  { name: 'the month’s first report resets the count', history: [subscribe(), used(900, 'a')], event: used(10, 'b', 40), status: 'applied', state: 'WithinLimits',
    check: (d) => expect([d.ledger.period, d.ledger.totals.executions]).toEqual(['2026-02', '10']) },
  { name: 'a hard breach throttles', history: [subscribe()], event: breach('storage', 101, 100), status: 'applied', state: 'Throttled', check: (d) => expect(d.lastBreach).toMatchObject({ hard: true }) },
  { name: 'another hard breach while throttled trips the breaker', history: [subscribe(), breach('storage', 101, 100)], event: breach('concurrent_executions', 2, 1), status: 'applied', state: 'CircuitBreaker' },
  { name: 'a soft breach is overage', history: [subscribe()], event: breach('requests', 11, 10), status: 'applied', state: 'Exceeded' },
  { name: 'a limit of 0 is exceeded by any use, with no division', history: [subscribe()], event: breach('storage', 1, 0), status: 'applied', state: 'Throttled' },
  { name: 'a report that does not exceed its limit is refused', history: [subscribe()], event: breach('storage', 0, 0), status: 'rejected', reason: /does not exceed/ },
  { name: 'a report with non-numbers is refused', history: [subscribe()], event: breach('storage', '5' as never, 1), status: 'rejected', reason: /finite numbers/ },
  { name: 'an upgrade changes the limits at once and says so', history: [subscribe(), used(1_500, 'a')], event: ev('CustomerUpgrades', { fromSku: 'COMMUNITY', toSku: 'PRO-MONTHLY' }), status: 'applied', state: 'WithinLimits',
    check: (d, reply) => expect([d.tier, reply.facts?.tierChanged]).toEqual(['professional', true]) },
  { name: 'a downgrade can put usage over the new limits', history: [subscribe('PRO-MONTHLY', 'professional'), used(1_500, 'a')], event: ev('CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'COMMUNITY' }), status: 'applied', state: 'Throttled' },
  { name: 'a change computed on other limits is refused', history: [subscribe()], event: ev('CustomerUpgrades', { fromSku: 'PRO-MONTHLY', toSku: 'ENT-MONTHLY' }), status: 'rejected', reason: /community's, not professional's/ },
];

describe('QuotaSla rules', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => checkRow(quotaSlaGovernor, row));

  it('lets a throttled customer retry after an hour; usage alone does not end throttling early', () => {
    expect(given(quotaSlaGovernor, [subscribe(), breach('storage', 2, 1), 'timeout']).state).toBe('Exceeded');
    expect(quotaSlaGovernor.timeouts?.Throttled?.ms).toBe(3_600_000);
    const throttled = given(quotaSlaGovernor, [subscribe(), breach('storage', 2, 1), used(1, 'x')]);
    expect(throttled.state).toBe('Throttled');
  });

  it('classifies limits: billed metrics are soft on paid tiers, everything unbilled is hard', () => {
    expect([isHardLimit('community', 'executions'), isHardLimit('professional', 'executions'), isHardLimit('professional', 'storage'), isHardLimit('enterprise', 'requests')]).toEqual([true, false, true, false]);
  });

  it('treats pay-per-use API calls and unlimited allowances as no quota at all', () => {
    const ledger = recordUsage(createUsageLedger('2026-01'), { metric: 'api_calls', quantity: 10_000_000, idempotencyKey: 'k' }).ledger;
    expect([evaluateUsage('professional', ledger), evaluateUsage('community', ledger)]).toEqual(['WithinLimits', 'WithinLimits']);
  });
});

describe('SLA credits', () => {
  it.each([
    ['professional', { uptimePercent: 99.95, p99Ms: 300, errorRatePercent: 0.05 }, '0', []],
    ['professional', { uptimePercent: 99.5, p99Ms: 300, errorRatePercent: 0.05 }, '4', ['uptime']],
    ['professional', { uptimePercent: 99.5, p99Ms: 600, errorRatePercent: 0.5 }, '14', ['uptime', 'p99', 'error_rate']],
    ['enterprise', { uptimePercent: 97, p99Ms: 101, errorRatePercent: 0.02 }, '25', ['uptime', 'p99', 'error_rate']],
    ['community', { uptimePercent: '99.4', p99Ms: 2000, errorRatePercent: '1' }, '1', ['uptime']],
  ] as const)('%s %j earns %s %%', (tier, measured, credit, missed) => {
    expect(slaCredit(tier, measured)).toEqual({ creditPercent: credit, missed });
  });
});

describe('the sla query', () => {
  const professional = given(quotaSlaGovernor, [subscribe('PRO-MONTHLY', 'professional')]);
  const sla = (measured: Record<string, unknown>) => quotaSlaGovernor.queries!.sla!({ customerId: 'c1', state: professional.state, version: professional.version, data: professional.data }, { type: 'sla', ...measured });

  it('answers the credit a month earns on the customer’s tier', () => {
    expect(sla({ uptimePercent: 99.5, p99Ms: 600, errorRatePercent: 0.05 })).toEqual({ creditPercent: '9', missed: ['uptime', 'p99'] });
  });

  // A p99 that is not a number used to compare as "met" (undefined > 500 is false): a month with
  // no latency measured, or one sent as text, earned no p99 credit instead of an answer saying so.
  it.each([
    ['no p99', { uptimePercent: 99.95, errorRatePercent: 0.05 }, /p99Ms/],
    ['a p99 as text', { uptimePercent: 99.95, p99Ms: 'slow', errorRatePercent: 0.05 }, /p99Ms/],
    ['an uptime that is not a number', { uptimePercent: Number.NaN, p99Ms: 300, errorRatePercent: 0.05 }, /uptimePercent/],
    ['no error rate', { uptimePercent: 99.95, p99Ms: 300 }, /errorRatePercent/],
  ])('refuses %s with the field to fix', (_name, measured, field) => {
    expect(sla(measured)).toEqual({ error: expect.stringMatching(field) });
  });
});
