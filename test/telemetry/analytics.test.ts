import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  AdoptionTracker,
  HealthHistory,
  InvalidTelemetryOptionError,
  LatencyTracker,
  MemorySink,
  OTHER_FEATURES,
  TelemetryCollector,
} from '../../src/observability/index.ts';

/** Exact nearest-rank percentile of a sample, the reference the histogram is checked against. */
function nearestRank(values: readonly number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

describe('latency percentiles per feature', () => {
  it('matches a known uniform distribution: 1..10,000 ms', () => {
    const latency = new LatencyTracker();
    for (let ms = 1; ms <= 10_000; ms++) latency.record('billing.invoice', ms);
    const summary = latency.summary('billing.invoice')!;
    expect(summary.count).toBe(10_000);
    // Three significant digits: within 0.1 % of the exact value.
    expect(summary.p50).toBeCloseTo(5_000, -1);
    expect(Math.abs(summary.p95 - 9_500) / 9_500).toBeLessThan(0.001);
    expect(Math.abs(summary.p99 - 9_900) / 9_900).toBeLessThan(0.001);
    expect(Math.abs(summary.max - 10_000) / 10_000).toBeLessThan(0.001);
    expect(summary.mean).toBeCloseTo(5_000.5, -1);
  });

  it('sees a long tail: 98 % fast, 2 % slow', () => {
    const latency = new LatencyTracker();
    for (let i = 0; i < 980; i++) latency.record('f', 2);
    for (let i = 0; i < 20; i++) latency.record('f', 800);
    const { p50, p95, p99 } = latency.summary('f')!;
    expect(p50).toBeCloseTo(2, 2);
    expect(p95).toBeCloseTo(2, 2);
    expect(Math.abs(p99 - 800) / 800).toBeLessThan(0.001);
  });

  it('stays within 0.1 % of the exact percentile for any sample (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 1, max: 60_000_000 }), { minLength: 1, maxLength: 500 }), (micros) => {
        const latency = new LatencyTracker();
        for (const value of micros) latency.record('f', value / 1_000);
        const summary = latency.summary('f')!;
        for (const [p, got] of [[50, summary.p50], [95, summary.p95], [99, summary.p99]] as const) {
          const exact = nearestRank(micros, p) / 1_000;
          expect(Math.abs(got - exact)).toBeLessThanOrEqual(exact * 0.001 + 0.001);
        }
      }),
    );
  });

  it('keeps features apart and pools features beyond the cap', () => {
    const latency = new LatencyTracker({ maxFeatures: 2 });
    latency.record('a', 1);
    latency.record('b', 100);
    latency.record('c', 5);
    latency.record('d', 7);
    latency.record('a', -3); // ignored
    expect(Object.keys(latency.summaries())).toEqual([OTHER_FEATURES, 'a', 'b']);
    expect(latency.summary('a')!.count).toBe(1);
    expect(latency.summary(OTHER_FEATURES)!.count).toBe(2);
    expect(latency.summary('missing')).toBeUndefined();
    expect(() => new LatencyTracker({ maxFeatures: 0 })).toThrow(InvalidTelemetryOptionError);
  });

  it('comes from execution_end durations in the collector summary', () => {
    const collector = new TelemetryCollector({ secret: 'x'.repeat(32), sink: new MemorySink() });
    for (let ms = 1; ms <= 100; ms++) {
      collector.executionStart({ organisation: 'o', feature: 'catalog.search' });
      collector.executionEnd({ organisation: 'o', feature: 'catalog.search', duration: ms, success: ms % 10 !== 0 });
    }
    const summary = collector.summary();
    const latency = summary.latency['catalog.search']!;
    expect(latency.count).toBe(100);
    // HDR reports the top of the value's bucket: within 0.1 % at three significant digits.
    for (const [got, exact] of [[latency.p50, 50], [latency.p95, 95], [latency.p99, 99]] as const) {
      expect(got).toBeGreaterThanOrEqual(exact);
      expect(got).toBeLessThanOrEqual(exact * 1.001);
    }
    collector.error({ organisation: 'o', feature: 'catalog.search', error: new Error('index gone') });
    expect(collector.summary().outcomes['catalog.search']).toEqual({ succeeded: 90, failed: 10, errors: 1 });
  });
});

describe('feature adoption per tier', () => {
  it('counts uses, distinct organisations and the share of the tier', () => {
    const adoption = new AdoptionTracker();
    for (const org of ['a', 'b', 'c', 'd']) adoption.seen('professional', org);
    adoption.adopted('professional', 'custom-domains', 'a');
    adoption.adopted('professional', 'custom-domains', 'a');
    adoption.adopted('professional', 'custom-domains', 'b');
    adoption.adopted('enterprise', 'sso', 'z');
    adoption.adopted(undefined, 'sso', 'y');
    expect(adoption.summary()).toEqual({
      professional: { organisations: 4, features: { 'custom-domains': { uses: 3, organisations: 2, rate: 0.5 } } },
      enterprise: { organisations: 1, features: { sso: { uses: 1, organisations: 1, rate: 1 } } },
      unknown: { organisations: 1, features: { sso: { uses: 1, organisations: 1, rate: 1 } } },
    });
  });

  it('is fed by the collector with anonymous organisations', () => {
    const collector = new TelemetryCollector({ secret: 'x'.repeat(32), sink: new MemorySink() });
    collector.executionEnd({ organisation: 'acme', feature: 'billing', tier: 'community', duration: 1 });
    collector.executionEnd({ organisation: 'globex', feature: 'billing', tier: 'community', duration: 1 });
    collector.featureAdoption({ organisation: 'acme', feature: 'templates.download', tier: 'community' });
    expect(collector.summary().adoption).toEqual({
      community: { organisations: 2, features: { 'templates.download': { uses: 1, organisations: 1, rate: 0.5 } } },
    });
  });
});

describe('health history', () => {
  it('summarises availability and response time per target', () => {
    let now = 1_000_000;
    const health = new HealthHistory({ now: () => now });
    health.record({ target: 'redis', available: true, responseTimeMs: 1 });
    health.record({ target: 'redis', available: true, responseTimeMs: 3 });
    health.record({ target: 'redis', available: false, responseTimeMs: 1_000 });
    health.record({ target: 'redis', available: true, responseTimeMs: 4 });
    now += 10;
    health.record({ target: 'queue', available: true, responseTimeMs: 2 });
    expect(health.summary()).toEqual({
      queue: { samples: 1, availability: 1, meanResponseMs: 2, p95ResponseMs: 2, lastAt: now, lastAvailable: true },
      redis: { samples: 4, availability: 0.75, meanResponseMs: 252, p95ResponseMs: 1_000, lastAt: now - 10, lastAvailable: true },
    });
  });

  it('forgets samples older than the retention window, on clean-up and on record', () => {
    let now = 0;
    const health = new HealthHistory({ retentionMs: 1_000, now: () => now });
    for (let t = 0; t < 10; t++) health.record({ target: 'redis', available: t % 2 === 0, responseTimeMs: t, at: t * 200 });
    now = 1_800;
    expect(health.cleanup()).toBe(4); // 0, 200, 400, 600 are older than 800
    expect(health.history('redis').map((sample) => sample.at)).toEqual([800, 1_000, 1_200, 1_400, 1_600, 1_800]);
    now = 10_000;
    health.record({ target: 'node', available: true, responseTimeMs: 1 });
    expect(health.history('redis')).toEqual([]);
    expect(Object.keys(health.summary())).toEqual(['node']);
  });

  it('keeps out-of-order samples in time order and caps samples per target', () => {
    const health = new HealthHistory({ now: () => 100, maxSamplesPerTarget: 3 });
    for (const at of [50, 10, 90, 30]) health.record({ target: 't', available: true, responseTimeMs: 0, at });
    expect(health.history('t').map((sample) => sample.at)).toEqual([30, 50, 90]);
  });

  it('refuses a nonsense retention', () => {
    expect(() => new HealthHistory({ retentionMs: 0 })).toThrow(InvalidTelemetryOptionError);
    expect(() => new HealthHistory({ maxSamplesPerTarget: 0 })).toThrow(InvalidTelemetryOptionError);
  });
});
