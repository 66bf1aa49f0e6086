/**
 * Product telemetry (anonymised, redacted, opt-in error reports, batched to a durable sink, with
 * local analytics) and operational Prometheus metrics. See README.md in this folder for exactly
 * what is ever sent.
 */
export { TelemetryCollector } from './collector.ts';
export type { TelemetryCollectorOptions, RecordResult, FlushResult } from './collector.ts';
export { TELEMETRY_EVENT_TYPES, TELEMETRY_TIERS, checkTelemetryInput } from './events.ts';
export type { TelemetryEvent, TelemetryEventType, TelemetryInput, TelemetryTier, JsonValue } from './events.ts';
export { createAnonymiser, generateInstallationSecret } from './anonymise.ts';
export { createRedactor, redactString, luhnValid, isCardLike, REDACTED, DEFAULT_REDACTED_KEYS } from './redact.ts';
export type { RedactionOptions } from './redact.ts';
export { EventBuffer } from './event-buffer.ts';
export { MemorySink } from './sink.ts';
export type { TelemetrySink } from './sink.ts';
export { RedisStreamSink, decodeTelemetryEntry, DEFAULT_TELEMETRY_STREAM } from './redis-stream-sink.ts';
export type { RedisStreamSinkOptions } from './redis-stream-sink.ts';
export { startPeriodicFlush } from './periodic-flush.ts';
export type { Flushable } from './periodic-flush.ts';
export { LatencyTracker, OTHER_FEATURES } from './latency.ts';
export type { LatencySummary, LatencyTrackerOptions } from './latency.ts';
export { AdoptionTracker, UNKNOWN_TIER } from './adoption.ts';
export type { AdoptionTier, FeatureAdoption, TierAdoption } from './adoption.ts';
export { HealthHistory } from './health-history.ts';
export type { HealthSample, HealthSummary, HealthHistoryOptions } from './health-history.ts';
export { formatTelemetrySummary } from './summary.ts';
export type { TelemetrySummary } from './summary.ts';
export { currentPlatform, GOVERNOR_VERSION } from './platform.ts';
export type { Platform } from './platform.ts';
export { createMetrics } from './metrics.ts';
export type { GovernorMetrics, MetricsOptions, MetricsSample } from './metrics.ts';
export { serveMetrics, DEFAULT_METRICS_PORT } from './metrics-server.ts';
export type { MetricsServer, MetricsServerOptions } from './metrics-server.ts';
export { sampleNode, trackNode } from './node-metrics.ts';
export type { NodeTracker, QueueSampler } from './node-metrics.ts';
export { observeLifecycle, ORCHESTRATOR_KIND } from './lifecycle-observer.ts';
export type { LifecycleObserver, LifecycleObserverOptions } from './lifecycle-observer.ts';
export { summariseTelemetryStream } from './stream-summary.ts';
export type { NodeSummaries } from './stream-summary.ts';
export {
  TelemetrySecretError,
  InvalidTelemetryOptionError,
  TelemetrySinkError,
  MetricsServerError,
} from './errors.ts';
