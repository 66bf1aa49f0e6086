import { InvalidTelemetryOptionError } from './errors.ts';

/** One health check of one target (Redis, a queue, the node itself). */
export interface HealthSample {
  readonly target: string;
  /** Epoch milliseconds. */
  readonly at: number;
  readonly available: boolean;
  /** How long the check took, in milliseconds. */
  readonly responseTimeMs: number;
}

/** A target's health over the retention window. */
export interface HealthSummary {
  readonly samples: number;
  /** Share of samples that were available (0–1), rounded to four places. */
  readonly availability: number;
  readonly meanResponseMs: number;
  readonly p95ResponseMs: number;
  readonly lastAt: number;
  readonly lastAvailable: boolean;
}

export interface HealthHistoryOptions {
  /**
   * Samples older than this (ms) are removed by {@link HealthHistory.cleanup}, which `record` runs too.
   * @default 86_400_000 (24 h)
   */
  readonly retentionMs?: number;
  /**
   * At most this many samples per target; the oldest go first.
   * @default 10_000
   */
  readonly maxSamplesPerTarget?: number;
  /** @default Date.now */
  readonly now?: () => number;
}

/**
 * Health history with a retention window: availability and response time per target. Memory is
 * bounded twice over (age and count), so a node that checks health every second for months still
 * holds one window's worth.
 */
export class HealthHistory {
  readonly retentionMs: number;
  readonly #maxSamples: number;
  readonly #now: () => number;
  readonly #samples = new Map<string, HealthSample[]>();

  constructor(options: HealthHistoryOptions = {}) {
    this.retentionMs = options.retentionMs ?? 86_400_000;
    this.#maxSamples = options.maxSamplesPerTarget ?? 10_000;
    this.#now = options.now ?? (() => Date.now());
    if (!(Number.isFinite(this.retentionMs) && this.retentionMs > 0)) {
      throw new InvalidTelemetryOptionError('retentionMs', options.retentionMs, 'a number of milliseconds > 0');
    }
    if (!Number.isInteger(this.#maxSamples) || this.#maxSamples < 1) {
      throw new InvalidTelemetryOptionError('maxSamplesPerTarget', options.maxSamplesPerTarget, 'an integer ≥ 1');
    }
  }

  /** Records a check at `at` (default: now), keeping each target's samples in time order. */
  record(sample: { target: string; available: boolean; responseTimeMs: number; at?: number }): void {
    const entry: HealthSample = {
      target: sample.target,
      at: sample.at ?? this.#now(),
      available: sample.available,
      responseTimeMs: Number.isFinite(sample.responseTimeMs) && sample.responseTimeMs >= 0 ? sample.responseTimeMs : 0,
    };
    let list = this.#samples.get(entry.target);
    if (!list) this.#samples.set(entry.target, (list = []));
    // Checks usually arrive in order; a late one is inserted where it belongs.
    let index = list.length;
    while (index > 0 && list[index - 1]!.at > entry.at) index--;
    list.splice(index, 0, entry);
    if (list.length > this.#maxSamples) list.splice(0, list.length - this.#maxSamples);
    this.cleanup();
  }

  /** Removes samples older than the retention window; returns how many were removed. */
  cleanup(): number {
    const cutoff = this.#now() - this.retentionMs;
    let removed = 0;
    for (const [target, list] of this.#samples) {
      let keep = 0;
      while (keep < list.length && list[keep]!.at < cutoff) keep++;
      if (keep > 0) {
        list.splice(0, keep);
        removed += keep;
      }
      if (list.length === 0) this.#samples.delete(target);
    }
    return removed;
  }

  /** A target's samples within the window, oldest first. */
  history(target: string): readonly HealthSample[] {
    return [...(this.#samples.get(target) ?? [])];
  }

  /** Summaries of every target within the window. */
  summary(): Record<string, HealthSummary> {
    this.cleanup();
    const out: Record<string, HealthSummary> = {};
    for (const target of [...this.#samples.keys()].sort()) {
      const list = this.#samples.get(target)!;
      const last = list[list.length - 1]!;
      const times = list.map((sample) => sample.responseTimeMs).sort((a, b) => a - b);
      const up = list.filter((sample) => sample.available).length;
      out[target] = {
        samples: list.length,
        availability: Math.round((up / list.length) * 10_000) / 10_000,
        meanResponseMs: times.reduce((sum, time) => sum + time, 0) / times.length,
        // Nearest-rank percentile: always one of the measured values.
        p95ResponseMs: times[Math.max(0, Math.ceil(0.95 * times.length) - 1)]!,
        lastAt: last.at,
        lastAvailable: last.available,
      };
    }
    return out;
  }
}
