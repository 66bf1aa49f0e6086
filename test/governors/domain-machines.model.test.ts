import { describe, expect, it } from 'vitest';
import { multiTenantDomain } from '../../machines/governors/multi-tenant.ts';
import { refusalsStay, traverseDomain } from './domain-model-support.ts';

/**
 * Model-based coverage of each governor's domain machine: `xstate/graph` reaches every domain
 * state and takes every domain transition (guarded branches and timers included), with the
 * governor's invariants checked in every state it visits.
 */

describe('MultiTenant domain machine', () => {
  const coverage = traverseDomain(multiTenantDomain, {
    samples: () => [
      { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 11, limit: 10 } },
      { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 30, limit: 10 } },
      { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: 5, limit: 10 } },
      { type: 'UsageExceedsQuota', fields: { resource: 'cpu', usage: -1, limit: 10 } },
      { type: 'ManualSuspension', fields: { reason: 'abuse', actor: 'ops' } },
    ],
    abstract: (d) => [d.breaches > 0],
    invariant: (state, d) => {
      if (state === 'Healthy') expect([d.throttle, d.shed]).toEqual(['1', []]);
      if (state === 'LoadBalancing' || state === 'Recovery') expect([d.throttle, d.shed]).toEqual(['0.5', []]);
      if (state === 'CascadePrevention') expect([d.throttle, d.shed]).toEqual(['0.5', ['analytics', 'recommendations']]);
      if (state === 'EmergencyShutdown') expect([d.throttle, d.shed.includes('caching')]).toEqual(['0.25', true]);
      if (state !== 'Healthy' && state !== 'Recovery') expect(d.breaches).toBeGreaterThan(0);
    },
  });

  it('reaches every state', () => expect(coverage.unreachedStates).toEqual([]));
  it('takes every transition', () => expect(coverage.unreachedTransitions).toEqual([]));
  it('refuses without moving', () => expect(refusalsStay(multiTenantDomain)).toEqual([]));
});
