import { assign, setup } from 'xstate';
import { defineGovernor, eventTime } from './governor-kit.ts';
import { domainContext, governorFromMachine, outcome, type DomainContext, type DomainEvent, type DomainTimeout } from './domain-machine.ts';
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

type D = TenantData;
type Level = 'ResourceContention' | 'LoadBalancing' | 'CascadePrevention' | 'EmergencyShutdown';
type UsageExceedsQuota = DomainEvent<'UsageExceedsQuota', { usage: unknown; limit: unknown }>;

const HOUR_MS = 3_600_000;
const RELAXED: D = { throttle: '1', shed: [], breaches: 0, lastBreachAt: null };

const LEVELS: Readonly<Record<Level, Pick<D, 'throttle' | 'shed'>>> = {
  ResourceContention: { throttle: '1', shed: [] },
  LoadBalancing: { throttle: '0.5', shed: [] },
  CascadePrevention: { throttle: '0.5', shed: SHED_UNDER_PRESSURE },
  EmergencyShutdown: { throttle: '0.25', shed: SHED_IN_EMERGENCY },
};

const isUsage = (n: unknown): n is number => typeof n === 'number' && Number.isFinite(n) && n >= 0;

/** The tenant's pressure, written out: breaches escalate it, time relaxes it. */
export const multiTenantDomain = setup({
  types: {} as { context: DomainContext<D>; events: UsageExceedsQuota | DomainEvent<'ManualSuspension'> | DomainTimeout },
  guards: {
    malformedUsage: ({ event }) => event.type === 'UsageExceedsQuota' && !(isUsage(event.usage) && isUsage(event.limit)),
    withinLimit: ({ event }) => event.type === 'UsageExceedsQuota' && Number(event.usage) <= Number(event.limit),
    /** Twice the limit, or any use of a zero limit. */
    severe: ({ event }) => event.type === 'UsageExceedsQuota' && (event.limit === 0 || Number(event.usage) >= 2 * Number(event.limit)),
  },
  actions: {
    reject: assign((_, params: { reason: string }) => ({ outcome: outcome.rejected(params.reason) })),
    notApplicable: assign((_, params: { reason: string }) => ({ outcome: outcome.notApplicable(params.reason) })),
    /** One more breach, at the level the transition enters. */
    escalate: assign(({ context, event }, params: { level: Level }) => ({
      data: { ...context.data, ...LEVELS[params.level], breaches: context.data.breaches + 1, lastBreachAt: event.type === 'timeout' ? null : eventTime(event) },
      outcome: outcome.applied,
    })),
    relax: assign({ data: RELAXED }),
    /** Out of the hot states into recovery: still at half share, nothing shed. */
    ease: assign(({ context }) => ({ data: { ...context.data, throttle: '0.5', shed: [] } })),
  },
}).createMachine({
  id: 'MultiTenant',
  initial: 'Healthy',
  context: domainContext(RELAXED),
  on: {
    ManualSuspension: { actions: { type: 'notApplicable', params: { reason: 'a suspended tenant uses nothing to share' } } },
  },
  states: {
    Healthy: {
      on: {
        UsageExceedsQuota: [
          ...refuseUsage(),
          { guard: 'severe', target: 'CascadePrevention', actions: { type: 'escalate', params: { level: 'CascadePrevention' } } },
          { target: 'ResourceContention', actions: { type: 'escalate', params: { level: 'ResourceContention' } } },
        ],
      },
    },
    ResourceContention: {
      on: {
        UsageExceedsQuota: [
          ...refuseUsage(),
          { guard: 'severe', target: 'CascadePrevention', actions: { type: 'escalate', params: { level: 'CascadePrevention' } } },
          { target: 'LoadBalancing', actions: { type: 'escalate', params: { level: 'LoadBalancing' } } },
        ],
        timeout: { target: 'Healthy', actions: 'relax' },
      },
    },
    LoadBalancing: {
      on: {
        UsageExceedsQuota: [...refuseUsage(), { target: 'CascadePrevention', actions: { type: 'escalate', params: { level: 'CascadePrevention' } } }],
        timeout: { target: 'Recovery', actions: 'ease' },
      },
    },
    CascadePrevention: {
      on: {
        UsageExceedsQuota: [...refuseUsage(), { target: 'EmergencyShutdown', actions: { type: 'escalate', params: { level: 'EmergencyShutdown' } } }],
        timeout: { target: 'Recovery', actions: 'ease' },
      },
    },
    EmergencyShutdown: {
      on: {
        UsageExceedsQuota: [...refuseUsage(), { target: 'EmergencyShutdown', actions: { type: 'escalate', params: { level: 'EmergencyShutdown' } } }],
        timeout: { target: 'Recovery', actions: 'ease' },
      },
    },
    Recovery: {
      on: {
        // A relapse during recovery goes back to balancing, not to the start.
        UsageExceedsQuota: [
          ...refuseUsage(),
          { guard: 'severe', target: 'CascadePrevention', actions: { type: 'escalate', params: { level: 'CascadePrevention' } } },
          { target: 'LoadBalancing', actions: { type: 'escalate', params: { level: 'LoadBalancing' } } },
        ],
        timeout: { target: 'Healthy', actions: 'relax' },
      },
    },
  },
});

/** The refusals every state starts its `UsageExceedsQuota` transitions with. */
function refuseUsage() {
  return [
    { guard: 'malformedUsage', actions: { type: 'reject', params: { reason: 'usage and limit must be finite numbers ≥ 0' } } },
    {
      guard: 'withinLimit',
      actions: { type: 'reject', params: ({ event }: { event: UsageExceedsQuota }) => ({ reason: `usage ${String(event.usage)} does not exceed the limit ${String(event.limit)}` }) },
    },
  ] as const;
}

export const multiTenantGovernor = governorFromMachine<TenantState, D>(multiTenantDomain, {
  kind: 'MultiTenant',
  init: () => RELAXED,
  // Load shedding protects the cluster now: its waits run on the node's clock.
  timing: {
    ResourceContention: { ms: HOUR_MS, clock: 'node' },
    LoadBalancing: { ms: HOUR_MS, clock: 'node' },
    CascadePrevention: { ms: HOUR_MS, clock: 'node' },
    EmergencyShutdown: { ms: 4 * HOUR_MS, clock: 'node' },
    Recovery: { ms: 15 * 60_000, clock: 'node' },
  },
  facts: (state, data) => ({ tenant: state, throttle: data.throttle }),
});

/** The pure decision of the MultiTenant governor: its machine, taken one event. */
export const decideTenant = multiTenantGovernor.decide;

export const multiTenantMachine = defineGovernor(multiTenantGovernor);
