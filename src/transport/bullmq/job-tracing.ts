import { context, ProxyTracerProvider, SpanKind, SpanStatusCode, trace, type Attributes, type Context, type Span, type Tracer } from '@opentelemetry/api';
import type { Logger } from 'pino';
import { isEntityAddress, type EntityAddress } from '../../runtime/entity.ts';
import type { Envelope } from '../../runtime/envelope.ts';
import type { ProcessRecord } from '../../runtime/process-record.ts';
import type { StepHandler, StepWatcher } from '../../runtime/transport.ts';
import { contextOfCarrier, traceCarrier, type TraceCarrier } from './trace-context.ts';

/** How a node's spans show what they are about (the transport option `tracing`). */
export interface TracingOptions {
  /**
   * How an entity's key shows on spans (`governor.entity.key`): a pseudonym, never a personal
   * identifier (`governor start` gives the customer's receipt pseudonym, as in its logs).
   * `undefined` leaves it out. @default keys are never recorded
   */
  readonly entityKey?: (address: EntityAddress) => string | undefined;
}

/** The names of the spans a node starts. */
export const SPAN_NAMES = {
  /** A job taken from a queue (kind consumer): a partition's message, or one of the node's inbox. */
  process: 'governor.process',
  /** One message an entity handled (one step of its machine, with what it raised). */
  step: 'governor.step',
  /** One commit of a partition: entity states, the message as handled, the outbox. */
  commit: 'governor.commit',
} as const;

/** A job's span and the context its work runs in. */
export interface TracedJob {
  readonly context: Context;
  /** Ends the span; with an error, marked failed. */
  end(error?: unknown): void;
}

/**
 * The OpenTelemetry spans of a BullMQ node, through `@opentelemetry/api` only (the SDK is the
 * operator's choice). Made only when the transport's `tracing` option is on; off, nothing here
 * runs and a job costs no allocation for tracing.
 *
 * One lifecycle event is one trace: the producer's span is the parent of the job's
 * `governor.process` span (through the job's `trace` field, `trace-context.ts`); each step the
 * job causes is a `governor.step` under the step that sent its message (in memory, through the
 * node's {@link StepWatcher}: a co-located governor's step is a child of the orchestrator step
 * that called it), or under the job's span; every message a step sends to a queue carries that
 * step's context, so the next hop's job is its child; the job's `governor.commit` is a child of
 * its `governor.process`.
 *
 * The node runs to completion, so the context of the work running now is a plain field, set for
 * one synchronous window: no async context manager is needed for the node's own spans.
 *
 * Until an SDK is registered (the API's global provider has no delegate), nothing is started at
 * all: no-op spans would still be objects per job and per step, so each asks one cheap question
 * instead ({@link JobTracing.recording}) and the job runs as if the node did not trace.
 *
 * @internal one concept of the BullMQ transport, behind its façade.
 */
export class JobTracing implements StepWatcher {
  readonly #tracer: Tracer;
  readonly #logger: () => Logger;
  readonly #entityKey: TracingOptions['entityKey'];
  /** The context of the synchronous window running now: a job's, then each step's in turn. */
  #current: Context | undefined;
  /** Envelopes a step queued in memory, with its context: their steps are its children. */
  readonly #causes = new WeakMap<Envelope, Context>();
  /** An SDK was found registered (it stays so: an SDK is registered once, before the work). */
  #sdk = false;

  constructor(logger: () => Logger, options: TracingOptions = {}) {
    this.#tracer = trace.getTracer('governor');
    this.#logger = logger;
    this.#entityKey = options.entityKey;
  }

  /**
   * Whether an OpenTelemetry SDK is registered in the process. Without one, the check costs a
   * call that allocates nothing (the API's proxy provider has no delegate to ask).
   */
  get recording(): boolean {
    if (this.#sdk) return true;
    const provider = trace.getTracerProvider();
    this.#sdk = !(provider instanceof ProxyTracerProvider) || provider.getDelegateTracer('governor') !== undefined;
    return this.#sdk;
  }

  /** The context of the work running now (a step, a job), if any is traced. */
  get current(): Context | undefined {
    return this.#current;
  }

  /** What a message sent now carries: the sending step's context, else the active one's. */
  carrier(): TraceCarrier | undefined {
    return traceCarrier(this.#current ?? context.active());
  }

  /**
   * Starts the span of a job taken from `queue`, under the context its `trace` field carries (a
   * field that is not valid is logged and ignored: the job starts a new trace). `undefined`
   * without an SDK: the job runs untraced.
   */
  startJob(queue: string, jobId: string | undefined, envelope: Envelope, carrier: unknown): TracedJob | undefined {
    if (!this.recording) return undefined;
    let parent = context.active();
    let ignored: string | undefined;
    if (carrier !== undefined) {
      const extracted = contextOfCarrier(carrier, parent);
      if (extracted.ok) parent = extracted.context;
      else {
        ignored = extracted.problem;
        this.#logger().warn({ queue, jobId, problem: ignored }, "a job's trace context is not valid: ignored, its spans start a new trace");
      }
    }
    const attributes: Attributes = {
      'messaging.system': 'bullmq',
      'messaging.operation.type': 'process',
      'messaging.operation.name': 'process',
      'messaging.destination.name': queue,
      'governor.envelope': envelope.t,
      ...this.#about(envelope.to, envelope),
    };
    if (ignored !== undefined) attributes['governor.trace.ignored'] = ignored;
    const span = this.#tracer.startSpan(SPAN_NAMES.process, { kind: SpanKind.CONSUMER, attributes }, parent);
    return { context: trace.setSpan(parent, span), end: (error) => end(span, error) };
  }

  /** Runs `work` (synchronous: one window of the node) as caused by `ctx`. */
  within<T>(ctx: Context, work: () => T): T {
    const outer = this.#current;
    this.#current = ctx;
    try {
      return work();
    } finally {
      this.#current = outer;
    }
  }

  /** Runs a commit in a `governor.commit` span under `parent` (none: a new trace). */
  async commit<T extends { status: string }>(parent: Context | undefined, attributes: Attributes, run: () => Promise<T>): Promise<T> {
    if (!this.recording) return run();
    const span = this.#tracer.startSpan(SPAN_NAMES.commit, { kind: SpanKind.INTERNAL, attributes }, parent ?? context.active());
    try {
      const result = await run();
      span.setAttribute('governor.commit.result', result.status);
      if (result.status !== 'ok' && result.status !== 'duplicate') {
        span.setAttribute('error.type', result.status);
        span.setStatus({ code: SpanStatusCode.ERROR, message: result.status });
      }
      span.end();
      return result;
    } catch (error) {
      end(span, error);
      throw error;
    }
  }

  // ── StepWatcher ────────────────────────────────────────────────────────────────────────────

  queued(envelope: Envelope): void {
    if (this.#current !== undefined) this.#causes.set(envelope, this.#current);
  }

  step(process: ProcessRecord, envelope: Envelope, handle: StepHandler): void | Promise<void> {
    // An entity's process carries its address (`host`); other processes (supervisors) and
    // envelopes that are not messages (exit signals, stops) are the runtime's, not a step.
    const address = (process as { host?: unknown }).host;
    if (!isEntityAddress(address) || (envelope.t !== 'cast' && envelope.t !== 'call' && envelope.t !== 'info' && envelope.t !== 'timeout') || !this.recording) {
      return handle(process, envelope);
    }
    const parent = this.#causes.get(envelope) ?? this.#current ?? context.active();
    const span = this.#tracer.startSpan(SPAN_NAMES.step, { kind: SpanKind.INTERNAL, attributes: { 'governor.envelope': envelope.t, ...this.#about(address, envelope) } }, parent);
    const outer = this.#current;
    this.#current = trace.setSpan(parent, span);
    let pending: void | Promise<void>;
    try {
      pending = handle(process, envelope);
    } catch (error) {
      end(span, error);
      throw error;
    } finally {
      this.#current = outer;
    }
    if (pending === undefined) span.end();
    else pending.then(() => span.end(), (error: unknown) => end(span, error));
    return pending;
  }

  /** The attributes naming an envelope's target entity and its event. */
  #about(target: unknown, envelope: Envelope): Attributes {
    const attributes: Attributes = {};
    if (envelope.t === 'cast' || envelope.t === 'call' || envelope.t === 'info') attributes['governor.event.type'] = envelope.event.type;
    else if (envelope.t === 'timeout') attributes['governor.event.type'] = `timeout:${envelope.name}`;
    if (isEntityAddress(target)) {
      attributes['governor.entity.kind'] = target.entity;
      const key = this.#entityKey?.(target);
      if (key !== undefined) attributes['governor.entity.key'] = key;
    }
    // A lifecycle event names its own type inside the `lifecycle` message.
    const inner = envelope.t === 'cast' || envelope.t === 'call' ? (envelope.event as { event?: { type?: unknown } }).event?.type : undefined;
    if (typeof inner === 'string') attributes['governor.lifecycle.type'] = inner;
    return attributes;
  }
}

/**
 * Ends a span; a failure is named by its type only (`error.type`, the error's `code` or class):
 * its message may quote an entity's key, which spans never show (see {@link TracingOptions}).
 */
function end(span: Span, error?: unknown): void {
  if (error !== undefined) {
    const code = (error as { code?: unknown } | null)?.code;
    const type = typeof code === 'string' ? code : error instanceof Error ? error.name : typeof error;
    span.setAttribute('error.type', type);
    span.setStatus({ code: SpanStatusCode.ERROR, message: type });
  }
  span.end();
}
