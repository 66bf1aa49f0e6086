import type { LifecycleEvent } from '../governor-protocol.ts';
import { defineGovernor, eventTime, type Decision, type GovernorDefinition } from './governor-kit.ts';
import { SHED_IN_EMERGENCY, SHED_UNDER_PRESSURE } from './tenant-fairness.ts';

/**
 * The MultiTenant governor: one tenant's pressure on shared capacity, escalating with repeated or
 * severe quota breaches and relaxing with time.
 *
 *   Healthy → ResourceContention → LoadBalancing (throttled to 50 %) → CascadePrevention (shed
 *   analytics, recommendations) → EmergencyShutdown (also caching, logging, metrics; 25 %)
 *   each relaxes after an hour (the emergency after four) → Recovery (15 min) → Healthy
 *
 * A severe breach (twice the limit, or any use of a zero limit) skips straight to
 * CascadePrevention. The throttle is what the node's scheduler applies to this tenant's share
 * (`tenant-fairness.ts`); comparing tenants with each other is done there, across tenants.
 */
export const TENANT_STATES = ['Healthy', 'ResourceContention', 'LoadBalancing', 'CascadePrevention', 'EmergencyShutdown', 'Recovery'] as const;
export type TenantState = (typeof TENANT_STATES)[number];

export interface TenantData {
  /** The share of its fair share the tenant gets: "1", "0.5", "0.25". */
  readonly throttle: string;
  readonly shed: readonly string[];
  readonly breaches: number;
  readonly lastBreachAt: number | null;
}

type S = TenantState;
type D = TenantData;

const HOUR_MS = 3_600_000;
const RELAXED: D = { throttle: '1', shed: [], breaches: 0, lastBreachAt: null };

const LEVELS: Readonly<Record<'ResourceContention' | 'LoadBalancing' | 'CascadePrevention' | 'EmergencyShutdown', Pick<D, 'throttle' | 'shed'>>> = {
  ResourceContention: { throttle: '1', shed: [] },
  LoadBalancing: { throttle: '0.5', shed: [] },
  CascadePrevention: { throttle: '0.5', shed: SHED_UNDER_PRESSURE },
  EmergencyShutdown: { throttle: '0.25', shed: SHED_IN_EMERGENCY },
};

/** The next level after one more breach. */
function escalate(state: S, severe: boolean): keyof typeof LEVELS {
  switch (state) {
    case 'Healthy':
      return severe ? 'CascadePrevention' : 'ResourceContention';
    case 'ResourceContention':
      return severe ? 'CascadePrevention' : 'LoadBalancing';
    case 'Recovery':
      // A relapse during recovery goes back to balancing, not to the start.
      return severe ? 'CascadePrevention' : 'LoadBalancing';
    case 'LoadBalancing':
      return 'CascadePrevention';
    default:
      return 'EmergencyShutdown';
  }
}

/** The pure decision of the MultiTenant governor. */
export function decideTenant(state: S, data: D, event: LifecycleEvent): Decision<S, D> {
  if (event.type !== 'UsageExceedsQuota') return { status: 'not_applicable', reason: 'a suspended tenant uses nothing to share' };
  const { usage, limit } = event;
  if (typeof usage !== 'number' || typeof limit !== 'number' || !Number.isFinite(usage) || !Number.isFinite(limit) || usage < 0 || limit < 0) {
    return { status: 'rejected', reason: 'usage and limit must be finite numbers ≥ 0' };
  }
  if (usage <= limit) return { status: 'rejected', reason: `usage ${usage} does not exceed the limit ${limit}` };
  const severe = limit === 0 || usage >= 2 * limit;
  const level = escalate(state, severe);
  return {
    status: 'applied',
    next: { state: level, data: { ...data, ...LEVELS[level], breaches: data.breaches + 1, lastBreachAt: eventTime(event) } },
  };
}

export const multiTenantGovernor: GovernorDefinition<S, D> = {
  kind: 'MultiTenant',
  states: TENANT_STATES,
  initial: 'Healthy',
  init: () => RELAXED,
  decide: decideTenant,
  targets: ['ResourceContention', 'LoadBalancing', 'CascadePrevention', 'EmergencyShutdown'],
  // Load shedding protects the cluster now: its waits run on the node's clock.
  timeouts: {
    ResourceContention: { ms: HOUR_MS, to: 'Healthy', clock: 'node', update: () => RELAXED },
    LoadBalancing: { ms: HOUR_MS, to: 'Recovery', clock: 'node', update: (data) => ({ ...data, throttle: '0.5', shed: [] }) },
    CascadePrevention: { ms: HOUR_MS, to: 'Recovery', clock: 'node', update: (data) => ({ ...data, throttle: '0.5', shed: [] }) },
    EmergencyShutdown: { ms: 4 * HOUR_MS, to: 'Recovery', clock: 'node', update: (data) => ({ ...data, throttle: '0.5', shed: [] }) },
    Recovery: { ms: 15 * 60_000, to: 'Healthy', clock: 'node', update: () => RELAXED },
  },
  facts: (state, data) => ({ tenant: state, throttle: data.throttle }),
};

export const multiTenantMachine = defineGovernor(multiTenantGovernor);
