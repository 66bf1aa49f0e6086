import { describe, expect, it } from 'vitest';
import { multiTenantGovernor, multiTenantMachine, type TenantData, type TenantState } from '../../machines/governors/multi-tenant.ts';
import type { GovernorContext } from '../../machines/governors/governor-kit.ts';
import { traverseGovernor, type Sample } from './model-support.ts';

type C = GovernorContext<TenantState, TenantData>;

const samples = (): Sample[] => [
  { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 11, limit: 10 } },
  { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 30, limit: 10 } },
  { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 5, limit: 10 } },
  { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
];

describe('MultiTenant governor, traversed with xstate/graph', () => {
  const result = traverseGovernor(multiTenantGovernor, multiTenantMachine, {
    samples,
    abstract: (c: C) => [c.data.breaches > 0],
    invariant: (c: C) => {
      const d = c.data;
      if (c.state === 'Healthy') expect([d.throttle, d.shed]).toEqual(['1', []]);
      if (c.state === 'LoadBalancing' || c.state === 'Recovery') expect(d.throttle).toBe('0.5');
      if (c.state === 'CascadePrevention') expect(d.shed).toEqual(['analytics', 'recommendations']);
      if (c.state === 'EmergencyShutdown') expect([d.throttle, d.shed.includes('caching')]).toEqual(['0.25', true]);
      if (c.state !== 'Healthy' && c.state !== 'Recovery') expect(d.breaches).toBeGreaterThan(0);
    },
  });

  it('reaches every state', () => expect(result.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(result.unreachedTransitions).toEqual([]));
});
