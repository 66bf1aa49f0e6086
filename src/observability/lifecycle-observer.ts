import type { EntityAddress } from '../runtime/entity.ts';
import type { EntityObserver } from '../runtime/entity-host.ts';
import type { PersistedActorState } from '../runtime/persisted-state.ts';
import type { TelemetryCollector } from './collector.ts';
import { TELEMETRY_TIERS, type TelemetryTier } from './events.ts';
import type { GovernorMetrics } from './metrics.ts';
import { askedGovernors, type OrchestratorContext, type OrchestratorStats } from '../../machines/orchestrator.ts';

/** The entity kind whose states this observer reads. */
export const ORCHESTRATOR_KIND = 'Orchestrator';

/** The orchestrator's counters, as persisted. */
type Stats = Readonly<OrchestratorStats>;

/**
 * The part of an orchestrator's persisted context this observer reads; anything else is ignored.
 * Written in the orchestrator's own types: renaming a field there is a compile error here, not
 * metrics that silently stop moving.
 */
interface View {
  readonly stats: Stats;
  readonly current: Pick<NonNullable<OrchestratorContext['current']>, 'event' | 'route' | 'asked' | 'index'> | null;
  readonly last: OrchestratorContext['last'];
  readonly conflicts: OrchestratorContext['conflicts'];
  readonly duplicatesByType: NonNullable<OrchestratorContext['duplicatesByType']>;
}

/** What is remembered per live orchestrator: its last view, and when its event in progress began. */
interface Live {
  view: View;
  startedAt: number;
  tier: TelemetryTier | undefined;
}

export interface LifecycleObserverOptions {
  /** Prometheus counters and the latency histogram to feed. */
  readonly metrics?: GovernorMetrics;
  /** Product telemetry: one `execution_start`, one `execution_end` (and an `error` when rejected) per event. */
  readonly collector?: TelemetryCollector;
  /** The node's clock (ms). */
  readonly now: () => number;
}

/** A lifecycle observer: the entity host's {@link EntityObserver}, plus forgetting an entity that left memory. */
export interface LifecycleObserver extends Required<EntityObserver> {
  /** The entity left memory (passivated, crashed, moved): its next start is read afresh. */
  stopped(address: EntityAddress): void;
  /** Orchestrators observed now. */
  readonly size: number;
}

const ZERO: Stats = { processed: 0, duplicates: 0, rejected: 0, conflicts: 0, compensations: 0, timeouts: 0 };

/**
 * Follows the lifecycle events through the orchestrators' states, step by step, and reports them
 * as metrics and product telemetry, so neither lives inside a machine. The orchestrator's own
 * counters (`stats` in its context) are the source of truth: the observer reports how they moved
 * since the entity's last step, starting from the state it was restored with, so history already
 * counted elsewhere (another node, an earlier run) is never counted again.
 *
 * One event, as seen from its steps:
 * 1. `current` appears (the orchestrator took the event): `execution_start` and `feature_adoption`
 *    (feature = event type); the start time is noted.
 * 2. `current` goes (or changes): the event ended; its outcome is the orchestrator's `last`.
 *    `execution_end` with its duration, an `error` if it was rejected, and the latency histogram.
 * 3. Counters that moved (duplicates, conflicts, compensations) are added to their metrics.
 *
 * The customer id goes to the collector, which only ever sends its keyed HMAC.
 *
 * @example
 * const observer = observeLifecycle({ metrics, collector, now: () => Date.now() });
 * startBullmqNode({ …, entityHost: { observe: observer } });
 * node.onExit((_pid, _reason, process) => … observer.stopped(address));
 */
export function observeLifecycle(options: LifecycleObserverOptions): LifecycleObserver {
  const { metrics, collector, now } = options;
  const live = new Map<string, Live>();

  const ended = (customer: string, entry: Live, before: NonNullable<View['current']>, after: View): void => {
    const handled = after.last?.eventId === before.event.eventId ? after.last : undefined;
    const outcome = handled?.status === 'completed' ? 'completed' : 'rejected';
    const durationMs = Math.max(0, now() - entry.startedAt);
    const feature = featureOf(before.event.type);
    metrics?.lifecycleLatency.observe({ type: feature, outcome }, durationMs / 1000);
    if (outcome === 'rejected') {
      // The governors asked to prepare a change are the ones compensated (aborted, in reverse).
      const compensated = after.stats.compensations - entry.view.stats.compensations;
      if (compensated > 0 && metrics) {
        for (const governor of askedGovernors(before)) metrics.compensations.inc({ governor });
      }
    }
    if (!collector) return;
    const base = { organisation: customer, feature, ...(entry.tier ? { tier: entry.tier } : {}) };
    if (outcome === 'rejected') {
      collector.error({ ...base, properties: { reason: (handled?.status === 'rejected' ? handled.reason : undefined) ?? 'rejected' } });
    }
    collector.executionEnd({ ...base, duration: durationMs, success: outcome === 'completed' });
  };

  const began = (customer: string, entry: Live, current: NonNullable<View['current']>): void => {
    entry.startedAt = now();
    const tier = 'tier' in current.event ? current.event.tier : undefined;
    if (typeof tier === 'string' && (TELEMETRY_TIERS as readonly string[]).includes(tier)) entry.tier = tier as TelemetryTier;
    if (!collector) return;
    const base = { organisation: customer, feature: featureOf(current.event.type), ...(entry.tier ? { tier: entry.tier } : {}) };
    collector.executionStart(base);
    collector.featureAdoption(base);
  };

  return {
    started(address, restored) {
      if (address.entity !== ORCHESTRATOR_KIND) return;
      const view = restored ? readView(restored) : undefined;
      // An event in progress at restore began before this node saw it: timed from now.
      live.set(address.key, { view: view ?? { stats: ZERO, current: null, last: undefined, conflicts: [], duplicatesByType: {} }, startedAt: now(), tier: undefined });
    },
    stepped(address, persist) {
      if (address.entity !== ORCHESTRATOR_KIND) return;
      const after = readView(persist());
      if (!after) return;
      let entry = live.get(address.key);
      if (!entry) live.set(address.key, (entry = { view: after, startedAt: now(), tier: undefined }));
      const before = entry.view;
      const previous = before.current;
      const next = after.current;
      if (previous && previous.event.eventId !== next?.event.eventId) ended(address.key, entry, previous, after);
      if (next && next.event.eventId !== previous?.event.eventId) began(address.key, entry, next);
      if (metrics) {
        const duplicates = after.stats.duplicates - before.stats.duplicates;
        if (duplicates > 0) {
          // By type as the state counts them; what it does not (a state persisted before it did): "unknown".
          let typed = 0;
          for (const [type, count] of Object.entries(after.duplicatesByType)) {
            const added = count - (before.duplicatesByType[type] ?? 0);
            if (added <= 0) continue;
            metrics.duplicates.inc({ type: featureOf(type) }, added);
            typed += added;
          }
          if (duplicates > typed) metrics.duplicates.inc({ type: 'unknown' }, duplicates - typed);
        }
        const timeouts = after.stats.timeouts - before.stats.timeouts;
        if (timeouts > 0) metrics.timeouts.inc(timeouts);
        const conflicts = after.stats.conflicts - before.stats.conflicts;
        if (conflicts > 0) {
          for (const conflict of after.conflicts.slice(-conflicts)) metrics.conflicts.inc({ resolution: conflict.resolution });
        }
      }
      entry.view = after;
    },
    stopped(address) {
      if (address.entity === ORCHESTRATOR_KIND) live.delete(address.key);
    },
    get size() {
      return live.size;
    },
  };
}

/** Event types are validated identifiers already; anything else is reported under one name. */
function featureOf(type: string): string {
  return /^[A-Za-z][A-Za-z0-9_]{0,63}$/.test(type) ? type : 'unknown';
}

/** Reads the orchestrator's context from a persisted state, or `undefined` if it is not one. */
function readView(state: PersistedActorState): View | undefined {
  // Persisted data, possibly of an older layout: every field is checked before it is trusted.
  const context = (state.snapshot as { context?: Partial<OrchestratorContext> } | null)?.context;
  if (!context || typeof context !== 'object') return undefined;
  const stats: Partial<Stats> | undefined = context.stats;
  if (!stats || typeof stats.processed !== 'number') return undefined;
  return {
    stats: { ...ZERO, ...stats },
    current: context.current ?? null,
    last: isLastOutcome(context.last) ? context.last : undefined,
    conflicts: Array.isArray(context.conflicts) ? context.conflicts : [],
    duplicatesByType: countsOf(context.duplicatesByType),
  };
}

/** A persisted `last` that can be trusted: an eventId and a known status (a rejection with its reason). */
function isLastOutcome(value: unknown): value is NonNullable<OrchestratorContext['last']> {
  if (typeof value !== 'object' || value === null) return false;
  const last = value as { eventId?: unknown; status?: unknown; reason?: unknown };
  return typeof last.eventId === 'string' && (last.status === 'completed' || (last.status === 'rejected' && typeof last.reason === 'string'));
}

/** Whole counts ≥ 0 by name from a persisted value; anything else is no count. */
function countsOf(value: unknown): Record<string, number> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return {};
  return Object.fromEntries(Object.entries(value).filter(([, n]) => Number.isSafeInteger(n) && (n as number) >= 0)) as Record<string, number>;
}
