import type { AdoptionTier, TierAdoption } from './adoption.ts';
import type { HealthSummary } from './health-history.ts';
import type { LatencySummary } from './latency.ts';

/**
 * Everything `governor stats` and the REPL's `stats()` show about telemetry: plain JSON (numbers,
 * strings, `null`), so it prints as is, serialises, and compares in tests.
 */
export interface TelemetrySummary {
  readonly generatedAt: string;
  readonly sink: string;
  readonly enabled: boolean;
  readonly errorReporting: boolean;
  readonly events: {
    readonly recorded: number;
    readonly sent: number;
    readonly buffered: number;
    /** Dropped (oldest first) because the buffer was full while the sink was down. */
    readonly dropped: number;
    /** Refused at the door as malformed. */
    readonly rejected: number;
    /** Recorded locally, not sent: telemetry off, or an error report without opt-in. */
    readonly withheld: { readonly disabled: number; readonly errorReportingOff: number };
    readonly failedFlushes: number;
    readonly lastError: string | null;
    readonly lastFlushAt: string | null;
  };
  /** Execution latency per feature, in milliseconds. */
  readonly latency: Readonly<Record<string, LatencySummary>>;
  /**
   * Per feature: executions that ended (`execution_end`) by outcome, and `error` events (counted
   * locally whether or not error reporting is opted in).
   */
  readonly outcomes: Readonly<Record<string, { readonly succeeded: number; readonly failed: number; readonly errors: number }>>;
  readonly adoption: Readonly<Partial<Record<AdoptionTier, TierAdoption>>>;
  readonly health: Readonly<Record<string, HealthSummary>>;
}

const ms = (value: number): string => `${value.toFixed(value < 10 ? 2 : 1)} ms`;
const percent = (value: number): string => `${(value * 100).toFixed(2)} %`;

/**
 * Renders a summary as aligned text for a terminal.
 *
 * @example
 * console.log(formatTelemetrySummary(collector.summary()));
 */
export function formatTelemetrySummary(summary: TelemetrySummary): string {
  const { events } = summary;
  const lines = [
    `telemetry ${summary.enabled ? 'on' : 'off'}, error reports ${summary.errorReporting ? 'opted in' : 'off'}, sink ${summary.sink}`,
    `events: ${events.recorded} recorded, ${events.sent} sent, ${events.buffered} buffered, ${events.dropped} dropped, ` +
      `${events.rejected} rejected, ${events.withheld.disabled + events.withheld.errorReportingOff} withheld`,
  ];
  if (events.lastError !== null) lines.push(`last sink error (${events.failedFlushes} failed flushes): ${events.lastError}`);

  const latency = Object.entries(summary.latency);
  if (latency.length > 0) {
    lines.push('', 'latency by feature        count       p50       p95       p99');
    for (const [feature, l] of latency) {
      lines.push(`  ${feature.padEnd(22)} ${String(l.count).padStart(6)} ${ms(l.p50).padStart(9)} ${ms(l.p95).padStart(9)} ${ms(l.p99).padStart(9)}`);
    }
  }
  const outcomes = Object.entries(summary.outcomes);
  if (outcomes.length > 0) {
    lines.push('', 'outcomes by feature      succeeded  failed  errors');
    for (const [feature, o] of outcomes) {
      lines.push(`  ${feature.padEnd(22)} ${String(o.succeeded).padStart(9)} ${String(o.failed).padStart(7)} ${String(o.errors).padStart(7)}`);
    }
  }
  const tiers = Object.entries(summary.adoption);
  if (tiers.length > 0) {
    lines.push('', 'feature adoption by tier');
    for (const [tier, adoption] of tiers) {
      lines.push(`  ${tier} (${adoption.organisations} organisations)`);
      for (const [feature, a] of Object.entries(adoption.features)) {
        lines.push(`    ${feature.padEnd(24)} ${String(a.uses).padStart(6)} uses ${String(a.organisations).padStart(5)} orgs ${percent(a.rate).padStart(9)}`);
      }
    }
  }
  const health = Object.entries(summary.health);
  if (health.length > 0) {
    lines.push('', 'health                   availability      mean       p95  last');
    for (const [target, h] of health) {
      lines.push(
        `  ${target.padEnd(22)} ${percent(h.availability).padStart(12)} ${ms(h.meanResponseMs).padStart(9)} ${ms(h.p95ResponseMs).padStart(9)}  ${h.lastAvailable ? 'up' : 'DOWN'}`,
      );
    }
  }
  return lines.join('\n');
}
