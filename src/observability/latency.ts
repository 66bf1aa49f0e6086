import { build, type Histogram } from 'hdr-histogram-js';
import { InvalidTelemetryOptionError } from './errors.ts';

/** Percentiles of one feature's durations, in milliseconds. */
export interface LatencySummary {
  readonly count: number;
  readonly p50: number;
  readonly p95: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

/** Features beyond the cap are pooled under this name rather than growing memory without bound. */
export const OTHER_FEATURES = '(other)';

export interface LatencyTrackerOptions {
  /**
   * How many distinct features get their own histogram; later ones share {@link OTHER_FEATURES}.
   * @default 500
   */
  readonly maxFeatures?: number;
}

/**
 * Latency percentiles per feature from HDR histograms: constant memory per feature whatever the
 * number of samples, and three significant digits at every magnitude, so p99 of a long tail is as
 * exact as p50. Durations are recorded in whole microseconds (HDR histograms count integers) and
 * reported back in milliseconds.
 */
export class LatencyTracker {
  readonly #histograms = new Map<string, Histogram>();
  readonly #maxFeatures: number;

  constructor(options: LatencyTrackerOptions = {}) {
    this.#maxFeatures = options.maxFeatures ?? 500;
    if (!Number.isInteger(this.#maxFeatures) || this.#maxFeatures < 1) {
      throw new InvalidTelemetryOptionError('maxFeatures', options.maxFeatures, 'an integer ≥ 1');
    }
  }

  /** Records one duration in milliseconds; non-finite or negative values are ignored. */
  record(feature: string, durationMs: number): void {
    if (!Number.isFinite(durationMs) || durationMs < 0) return;
    this.#histogram(feature).recordValue(Math.round(durationMs * 1_000));
  }

  /** The summary of one feature, or `undefined` if it has no samples. */
  summary(feature: string): LatencySummary | undefined {
    const histogram = this.#histograms.get(feature);
    if (!histogram || histogram.totalCount === 0) return undefined;
    const ms = (micros: number): number => micros / 1_000;
    return {
      count: histogram.totalCount,
      p50: ms(histogram.getValueAtPercentile(50)),
      p95: ms(histogram.getValueAtPercentile(95)),
      p99: ms(histogram.getValueAtPercentile(99)),
      max: ms(histogram.maxValue),
      mean: ms(histogram.mean),
    };
  }

  /** Every feature's summary, by feature name. */
  summaries(): Record<string, LatencySummary> {
    const out: Record<string, LatencySummary> = {};
    for (const feature of [...this.#histograms.keys()].sort()) {
      const summary = this.summary(feature);
      if (summary) out[feature] = summary;
    }
    return out;
  }

  reset(): void {
    this.#histograms.clear();
  }

  #histogram(feature: string): Histogram {
    let histogram = this.#histograms.get(feature);
    if (histogram) return histogram;
    const key = this.#histograms.size < this.#maxFeatures ? feature : OTHER_FEATURES;
    histogram = this.#histograms.get(key);
    if (histogram) return histogram;
    histogram = build({ bitBucketSize: 32, autoResize: true, lowestDiscernibleValue: 1, numberOfSignificantValueDigits: 3 });
    this.#histograms.set(key, histogram);
    return histogram;
  }
}
