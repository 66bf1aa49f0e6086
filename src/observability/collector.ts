import { randomUUID } from 'node:crypto';
import { AdoptionTracker } from './adoption.ts';
import { createAnonymiser } from './anonymise.ts';
import { InvalidTelemetryOptionError } from './errors.ts';
import { EventBuffer } from './event-buffer.ts';
import { checkTelemetryInput, type JsonValue, type TelemetryEvent, type TelemetryInput } from './events.ts';
import { HealthHistory } from './health-history.ts';
import { LatencyTracker } from './latency.ts';
import { currentPlatform, type Platform } from './platform.ts';
import { createRedactor } from './redact.ts';
import type { TelemetrySink } from './sink.ts';
import type { TelemetrySummary } from './summary.ts';

export interface TelemetryCollectorOptions {
  /** The per-installation secret that keys the organisation HMAC (≥ 16 bytes). */
  readonly secret: string | Uint8Array;
  readonly sink: TelemetrySink;
  /**
   * Events per batch; a full batch is flushed on its own.
   * @default 100
   */
  readonly batchSize?: number;
  /**
   * Events held while the sink is down; beyond it the oldest are dropped and counted.
   * @default 10_000
   */
  readonly maxBuffered?: number;
  /**
   * After a failed flush, automatic flushes wait this long (ms) before trying the sink again;
   * {@link TelemetryCollector.flush} always tries.
   * @default 5_000
   */
  readonly retryAfterMs?: number;
  /**
   * Send anything at all. Off: events still feed the local analytics, nothing is buffered or sent.
   * @default true
   */
  readonly enabled?: boolean;
  /**
   * Send `error` events. Off until the operator opts in.
   * @default false
   */
  readonly errorReporting?: boolean;
  /** Property names to withhold besides the defaults (see `DEFAULT_REDACTED_KEYS`). */
  readonly redactKeys?: readonly string[];
  /** @default 86_400_000 (24 h) */
  readonly healthRetentionMs?: number;
  /** @default 500 */
  readonly maxFeatures?: number;
  /** @default Date.now */
  readonly now?: () => number;
  /** @default crypto.randomUUID */
  readonly newId?: () => string;
  /** @default currentPlatform() */
  readonly platform?: Platform;
}

/** What happened to one recorded event. */
export type RecordResult =
  | { readonly status: 'buffered'; readonly event: TelemetryEvent }
  | { readonly status: 'withheld'; readonly reason: 'disabled' | 'error_reporting_off' }
  | { readonly status: 'rejected'; readonly reason: string };

/** What one flush did. */
export interface FlushResult {
  /** `false` when the sink refused a batch (the rest stays buffered). */
  readonly ok: boolean;
  /** Events sent by this flush. */
  readonly sent: number;
  readonly batches: number;
  /** Events still buffered afterwards. */
  readonly buffered: number;
  /** Events dropped since the collector started. */
  readonly dropped: number;
  readonly error?: string;
}

/**
 * The product telemetry collector. Governors and the runtime feed it events; it anonymises the
 * organisation (keyed HMAC), redacts the properties, holds error reports back unless opted in,
 * buffers (bounded, counted drop-oldest) and flushes batches to its sink. Every event also feeds
 * the local analytics behind {@link TelemetryCollector.summary}, which never leave the process.
 *
 * `record` never throws and never waits: telemetry must not slow down or crash what it observes.
 *
 * @example
 * const collector = new TelemetryCollector({ secret, sink: new RedisStreamSink({ redis }) });
 * collector.record({ type: 'execution_end', organisation: 'acme', feature: 'billing.invoice', duration: 12 });
 * collector.setErrorReporting(true); // the operator opted in
 * await collector.flush();
 * collector.summary(); // for `governor stats` and the REPL's `stats()`
 */
export class TelemetryCollector {
  readonly sink: TelemetrySink;
  readonly batchSize: number;
  readonly health: HealthHistory;
  readonly #buffer: EventBuffer<TelemetryEvent>;
  readonly #anonymise: (organisation: string) => string;
  readonly #redact: (properties: Readonly<Record<string, unknown>>) => Record<string, JsonValue>;
  readonly #latency: LatencyTracker;
  readonly #adoption = new AdoptionTracker();
  readonly #outcomes = new Map<string, { succeeded: number; failed: number; errors: number }>();
  readonly #now: () => number;
  readonly #newId: () => string;
  readonly #platform: Platform;
  readonly #retryAfterMs: number;
  #enabled: boolean;
  #errorReporting: boolean;
  #queue: Promise<unknown> = Promise.resolve();
  /** Flushes queued or running. */
  #pending = 0;
  #counts = { recorded: 0, sent: 0, rejected: 0, withheldDisabled: 0, withheldErrors: 0, failedFlushes: 0 };
  #lastError: string | undefined;
  #lastFailureAt: number | undefined;
  #lastFlushAt: number | undefined;

  constructor(options: TelemetryCollectorOptions) {
    this.sink = options.sink;
    this.batchSize = options.batchSize ?? 100;
    if (!Number.isInteger(this.batchSize) || this.batchSize < 1) {
      throw new InvalidTelemetryOptionError('batchSize', options.batchSize, 'an integer ≥ 1');
    }
    const maxBuffered = options.maxBuffered ?? 10_000;
    if (!Number.isInteger(maxBuffered) || maxBuffered < this.batchSize) {
      throw new InvalidTelemetryOptionError('maxBuffered', maxBuffered, `an integer ≥ batchSize (${this.batchSize})`);
    }
    this.#retryAfterMs = options.retryAfterMs ?? 5_000;
    if (!(Number.isFinite(this.#retryAfterMs) && this.#retryAfterMs >= 0)) {
      throw new InvalidTelemetryOptionError('retryAfterMs', options.retryAfterMs, 'a number of milliseconds ≥ 0');
    }
    this.#buffer = new EventBuffer(maxBuffered);
    this.#anonymise = createAnonymiser(options.secret);
    this.#redact = createRedactor({ keys: options.redactKeys ?? [] });
    this.#now = options.now ?? (() => Date.now());
    this.#newId = options.newId ?? (() => randomUUID());
    this.#platform = options.platform ?? currentPlatform();
    this.#enabled = options.enabled ?? true;
    this.#errorReporting = options.errorReporting ?? false;
    this.#latency = new LatencyTracker({ maxFeatures: options.maxFeatures ?? 500 });
    this.health = new HealthHistory({ retentionMs: options.healthRetentionMs ?? 86_400_000, now: this.#now });
  }

  get enabled(): boolean {
    return this.#enabled;
  }

  get errorReporting(): boolean {
    return this.#errorReporting;
  }

  /** Events waiting to be sent. */
  get buffered(): number {
    return this.#buffer.length;
  }

  /** Events dropped (oldest first) because the buffer was full while the sink was down. */
  get dropped(): number {
    return this.#buffer.dropped;
  }

  /**
   * Turns sending on or off at run time. Turning it off also discards what is buffered and not yet
   * sent: an opt-out covers events recorded before it.
   * @returns how many buffered events were discarded.
   */
  setEnabled(enabled: boolean): number {
    this.#enabled = enabled;
    return enabled ? 0 : this.#buffer.remove(() => true);
  }

  /**
   * Opts error reporting in or out at run time. Opting out also discards buffered `error` events.
   * @returns how many buffered error events were discarded.
   */
  setErrorReporting(enabled: boolean): number {
    this.#errorReporting = enabled;
    return enabled ? 0 : this.#buffer.remove((event) => event.type === 'error');
  }

  /**
   * Records one event: local analytics first, then (if it may be sent) anonymised, redacted and
   * buffered. A full batch starts a flush in the background.
   */
  record(input: TelemetryInput): RecordResult {
    const problem = checkTelemetryInput(input);
    if (problem !== undefined) {
      this.#counts.rejected++;
      return { status: 'rejected', reason: problem };
    }
    const feature = input.feature;
    this.#counts.recorded++;
    const organisation = this.#anonymise(input.organisation);
    const success = input.success ?? input.type !== 'error';
    this.#analyse(input, organisation, success);

    if (!this.#enabled) {
      this.#counts.withheldDisabled++;
      return { status: 'withheld', reason: 'disabled' };
    }
    if (input.type === 'error' && !this.#errorReporting) {
      this.#counts.withheldErrors++;
      return { status: 'withheld', reason: 'error_reporting_off' };
    }
    const properties: Record<string, unknown> = { ...input.properties };
    if (input.type === 'error' && input.error !== undefined) properties['error'] = describeError(input.error);
    const event: TelemetryEvent = {
      id: this.#newId(),
      type: input.type,
      time: new Date(this.#now()).toISOString(),
      organisation,
      feature,
      tier: input.tier ?? null,
      duration: input.duration ?? null,
      success,
      properties: this.#redact(properties),
      platform: this.#platform,
    };
    this.#buffer.push(event);
    if (this.#buffer.length >= this.batchSize) this.#autoFlush();
    return { status: 'buffered', event };
  }

  /** Records the start of an execution of `feature`. */
  executionStart(input: Omit<TelemetryInput, 'type'>): RecordResult {
    return this.record({ ...input, type: 'execution_start' });
  }

  /** Records the end of an execution, with its duration (ms) and outcome. */
  executionEnd(input: Omit<TelemetryInput, 'type'>): RecordResult {
    return this.record({ ...input, type: 'execution_end' });
  }

  /** Records an error; sent only when error reporting is opted in. */
  error(input: Omit<TelemetryInput, 'type'>): RecordResult {
    return this.record({ ...input, type: 'error' });
  }

  /** Records that an organisation used a feature. */
  featureAdoption(input: Omit<TelemetryInput, 'type'>): RecordResult {
    return this.record({ ...input, type: 'feature_adoption' });
  }

  /** Records a health check (local only: health history is never sent). */
  recordHealth(sample: { target: string; available: boolean; responseTimeMs: number; at?: number }): void {
    this.health.record(sample);
  }

  /**
   * Sends everything buffered, in batches of `batchSize`, oldest first. Stops at the first batch the
   * sink refuses, which goes back in front of the buffer. Flushes never overlap: a second call
   * waits for the first.
   */
  flush(): Promise<FlushResult> {
    return this.#enqueue(false);
  }

  /** The local analytics and counters, for `governor stats` and the REPL's `stats()`. */
  summary(): TelemetrySummary {
    const outcomes: Record<string, { succeeded: number; failed: number; errors: number }> = {};
    for (const feature of [...this.#outcomes.keys()].sort()) outcomes[feature] = { ...this.#outcomes.get(feature)! };
    return {
      generatedAt: new Date(this.#now()).toISOString(),
      sink: this.sink.name,
      enabled: this.#enabled,
      errorReporting: this.#errorReporting,
      events: {
        recorded: this.#counts.recorded,
        sent: this.#counts.sent,
        buffered: this.#buffer.length,
        dropped: this.#buffer.dropped,
        rejected: this.#counts.rejected,
        withheld: { disabled: this.#counts.withheldDisabled, errorReportingOff: this.#counts.withheldErrors },
        failedFlushes: this.#counts.failedFlushes,
        lastError: this.#lastError ?? null,
        lastFlushAt: this.#lastFlushAt === undefined ? null : new Date(this.#lastFlushAt).toISOString(),
      },
      latency: this.#latency.summaries(),
      outcomes,
      adoption: this.#adoption.summary(),
      health: this.health.summary(),
    };
  }

  #analyse(input: TelemetryInput, organisation: string, success: boolean): void {
    this.#adoption.seen(input.tier, organisation);
    if (input.type === 'feature_adoption') this.#adoption.adopted(input.tier, input.feature, organisation);
    if (input.type === 'execution_end' && input.duration !== undefined) this.#latency.record(input.feature, input.duration);
    if (input.type === 'execution_end' || input.type === 'error') {
      let outcome = this.#outcomes.get(input.feature);
      if (!outcome) this.#outcomes.set(input.feature, (outcome = { succeeded: 0, failed: 0, errors: 0 }));
      // An error is usually followed by a failed execution_end: counted apart, not twice.
      if (input.type === 'error') outcome.errors++;
      else if (success) outcome.succeeded++;
      else outcome.failed++;
    }
  }

  #mayBeSent(event: TelemetryEvent): boolean {
    return this.#enabled && (event.type !== 'error' || this.#errorReporting);
  }

  #autoFlush(): void {
    if (this.#pending > 0) return;
    // A sink that just failed is left alone for a while, so a down sink is not hammered per event.
    if (this.#lastFailureAt !== undefined && this.#now() - this.#lastFailureAt < this.#retryAfterMs) return;
    // Background: the failure is already recorded in the counters and `lastError`.
    void this.#enqueue(true);
  }

  #enqueue(fullBatchesOnly: boolean): Promise<FlushResult> {
    this.#pending++;
    const run = this.#queue.then(() => this.#flushNow(fullBatchesOnly)).finally(() => this.#pending--);
    this.#queue = run.catch(() => undefined);
    return run;
  }

  async #flushNow(fullBatchesOnly: boolean): Promise<FlushResult> {
    let sent = 0;
    let batches = 0;
    while (this.#buffer.length > 0 && (!fullBatchesOnly || this.#buffer.length >= this.batchSize)) {
      const batch = this.#buffer.take(this.batchSize);
      try {
        await this.sink.send(batch);
      } catch (error) {
        // An opt-out that came while the batch was out applies to it too.
        this.#buffer.putBack(batch.filter((event) => this.#mayBeSent(event)));
        this.#counts.failedFlushes++;
        this.#lastFailureAt = this.#now();
        this.#lastError = error instanceof Error ? error.message : String(error);
        return { ok: false, sent, batches, buffered: this.#buffer.length, dropped: this.#buffer.dropped, error: this.#lastError };
      }
      sent += batch.length;
      batches++;
      this.#counts.sent += batch.length;
      this.#lastFlushAt = this.#now();
    }
    this.#lastFailureAt = undefined;
    return { ok: true, sent, batches, buffered: this.#buffer.length, dropped: this.#buffer.dropped };
  }
}

/** An error's name, `code` and message: never its stack, which carries paths and source. */
function describeError(error: unknown): Record<string, unknown> {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return { name: error.name, message: error.message, ...(typeof code === 'string' ? { code } : {}) };
  }
  return { message: String(error) };
}
