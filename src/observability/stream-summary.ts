import { AdoptionTracker } from './adoption.ts';
import type { TelemetryEvent } from './events.ts';
import type { HealthSummary } from './health-history.ts';
import { LatencyTracker } from './latency.ts';
import type { TelemetrySummary } from './summary.ts';

/** Nodes' own summaries, as each wrote its latest (`governor stats` reads them from Redis). */
export type NodeSummaries = Readonly<Record<string, TelemetrySummary>>;

/**
 * The analytics of a telemetry stream, as {@link TelemetrySummary}: latency percentiles per feature
 * (HDR histograms of the `execution_end` durations), outcomes per feature, and adoption per tier,
 * counted over every event read, whichever node sent it. Organisations are the stream's tokens:
 * the raw ids were never there. Health comes from the nodes' summaries (health history is local to
 * each node), each target prefixed by its node (`node-1/redis`).
 *
 * The same rules as the collector's local analytics: an `error` is counted apart from the failed
 * `execution_end` that usually follows it.
 *
 * @example
 * const summary = summariseTelemetryStream(events, { sink: 'redis-stream:governor:g:{g}:telemetry', nodes });
 * console.log(formatTelemetrySummary(summary));
 */
export function summariseTelemetryStream(
  events: Iterable<TelemetryEvent>,
  options: { sink: string; nodes?: NodeSummaries; now?: () => number },
): TelemetrySummary {
  const latency = new LatencyTracker();
  const adoption = new AdoptionTracker();
  const outcomes = new Map<string, { succeeded: number; failed: number; errors: number }>();
  let read = 0;
  let lastAt: string | null = null;
  for (const event of events) {
    read++;
    if (lastAt === null || event.time > lastAt) lastAt = event.time;
    const tier = event.tier ?? undefined;
    adoption.seen(tier, event.organisation);
    if (event.type === 'feature_adoption') adoption.adopted(tier, event.feature, event.organisation);
    if (event.type === 'execution_end' && event.duration !== null) latency.record(event.feature, event.duration);
    if (event.type === 'execution_end' || event.type === 'error') {
      let outcome = outcomes.get(event.feature);
      if (!outcome) outcomes.set(event.feature, (outcome = { succeeded: 0, failed: 0, errors: 0 }));
      if (event.type === 'error') outcome.errors++;
      else if (event.success) outcome.succeeded++;
      else outcome.failed++;
    }
  }
  const health: Record<string, HealthSummary> = {};
  const nodes = Object.entries(options.nodes ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [node, summary] of nodes) {
    for (const [target, h] of Object.entries(summary.health ?? {})) health[`${node}/${target}`] = h;
  }
  const sum = (pick: (s: TelemetrySummary) => number): number => nodes.reduce((total, [, s]) => total + (pick(s) || 0), 0);
  const byFeature: Record<string, { succeeded: number; failed: number; errors: number }> = {};
  for (const feature of [...outcomes.keys()].sort()) byFeature[feature] = outcomes.get(feature)!;
  return {
    generatedAt: new Date((options.now ?? Date.now)()).toISOString(),
    sink: options.sink,
    enabled: nodes.length === 0 || nodes.some(([, s]) => s.enabled),
    errorReporting: nodes.some(([, s]) => s.errorReporting),
    events: {
      // What reached the stream; the nodes' own counters say what they buffered, dropped or withheld.
      recorded: read,
      sent: read,
      buffered: sum((s) => s.events.buffered),
      dropped: sum((s) => s.events.dropped),
      rejected: sum((s) => s.events.rejected),
      withheld: {
        disabled: sum((s) => s.events.withheld.disabled),
        errorReportingOff: sum((s) => s.events.withheld.errorReportingOff),
      },
      failedFlushes: sum((s) => s.events.failedFlushes),
      lastError: nodes.map(([, s]) => s.events.lastError).find((error) => error !== null) ?? null,
      lastFlushAt: lastAt,
    },
    latency: latency.summaries(),
    outcomes: byFeature,
    adoption: adoption.summary(),
    health,
  };
}
