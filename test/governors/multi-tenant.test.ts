import { describe, expect, it } from 'vitest';
import { multiTenantGovernor, type TenantData, type TenantState } from '../../machines/governors/multi-tenant.ts';
import { fairShares, noisyNeighbours } from '../../machines/governors/tenant-fairness.ts';
import { checkRow, ev, given, type Row } from './domain-support.ts';

const mild = () => ev('UsageExceedsQuota', { resource: 'cpu', usage: 11, limit: 10 });
const severe = () => ev('UsageExceedsQuota', { resource: 'cpu', usage: 20, limit: 10 });

const rows: Row<TenantState, TenantData>[] = [
  { name: 'a first breach is contention', history: [], event: mild(), status: 'applied', state: 'ResourceContention', check: (d) => expect(d.throttle).toBe('1') },
  { name: 'a second within the hour throttles the tenant to half', history: [mild()], event: mild(), status: 'applied', state: 'LoadBalancing', check: (d) => expect(d.throttle).toBe('0.5') },
  { name: 'a severe breach (twice the limit) sheds analytics and recommendations at once', history: [], event: severe(), status: 'applied', state: 'CascadePrevention',
    check: (d) => expect(d.shed).toEqual(['analytics', 'recommendations']) },
  { name: 'a breach under cascade prevention is an emergency', history: [severe()], event: mild(), status: 'applied', state: 'EmergencyShutdown',
    check: (d) => expect([d.throttle, d.shed]).toEqual(['0.25', ['analytics', 'recommendations', 'caching', 'logging', 'metrics']]) },
  { name: 'a relapse in recovery goes back to balancing', history: [mild(), mild(), 'timeout'], event: mild(), status: 'applied', state: 'LoadBalancing' },
  { name: 'a zero limit exceeded is severe', history: [], event: ev('UsageExceedsQuota', { resource: 'cpu', usage: 1, limit: 0 }), status: 'applied', state: 'CascadePrevention' },
  { name: 'a report that does not exceed is refused', history: [], event: ev('UsageExceedsQuota', { resource: 'cpu', usage: 1, limit: 1 }), status: 'rejected' },
  { name: 'a suspension is not the scheduler’s business', history: [], event: ev('ManualSuspension', { reason: 'x', actor: 'y' }), status: 'not_applicable' },
];

describe('MultiTenant rules', () => {
  it.each(rows.map((r) => [r.name, r] as const))('%s', (_name, row) => checkRow(multiTenantGovernor, row));

  it('relaxes with time: contention after an hour, pressure through recovery to healthy', () => {
    expect(given(multiTenantGovernor, [mild(), 'timeout']).state).toBe('Healthy');
    const recovering = given(multiTenantGovernor, [severe(), mild(), 'timeout']);
    expect([recovering.state, recovering.data.shed]).toEqual(['Recovery', []]);
    expect(given(multiTenantGovernor, [severe(), mild(), 'timeout', 'timeout']).data).toEqual({ throttle: '1', shed: [], breaches: 0, lastBreachAt: null });
  });
});

describe('fairness between tenants', () => {
  it('splits capacity by tier weight, in whole units that add up', () => {
    const shares = fairShares([{ id: 'a', tier: 'enterprise' }, { id: 'b', tier: 'professional' }, { id: 'c', tier: 'community' }], 100);
    expect(shares).toEqual({ a: 40, b: 35, c: 25 });
    const odd = fairShares([{ id: 'a', tier: 'community' }, { id: 'b', tier: 'community' }, { id: 'c', tier: 'community' }], 10);
    expect(Object.values(odd).reduce((x, y) => x + y, 0)).toBe(10);
    expect(() => fairShares([], -1)).toThrow(RangeError);
  });

  const quiet = { cpu: 10, network: 10, disk: 10, evictionRate: 0 };
  it.each([
    ['a lone busy tenant is load, not noise', { a: { ...quiet, cpu: 95, network: 100 } }, []],
    ['a CPU hog among quiet neighbours', { a: { ...quiet, cpu: 85 }, b: quiet }, ['a']],
    ['a CPU hog among busy neighbours is not singled out', { a: { ...quiet, cpu: 85 }, b: { ...quiet, cpu: 50 } }, []],
    ['more than half the bandwidth', { a: { ...quiet, network: 60 }, b: { ...quiet, network: 40 } }, ['a']],
    ['a full disk and evictions', { a: { ...quiet, disk: 95 }, b: { ...quiet, evictionRate: 60 } }, ['a', 'b']],
  ])('%s', (_name, metrics, noisy) => expect(noisyNeighbours(metrics)).toEqual(noisy));
});
