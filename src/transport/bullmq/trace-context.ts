import { context, createTraceState, isSpanContextValid, ROOT_CONTEXT, trace, TraceFlags, type Context } from '@opentelemetry/api';

/**
 * W3C Trace Context in a job's data: the `trace` field of every Governor job (`{ v, id?, env,
 * trace? }`, see `job-format.ts`), written by producers and by nodes for the messages their
 * actors send, read by the node that takes the job, so one lifecycle event is one trace across
 * every queue hop (producer → partition → node inbox → …).
 *
 * ```json
 * { "v": 1, "id": "…", "env": { … }, "trace": { "traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", "tracestate": "vendor=value" } }
 * ```
 *
 * The carrier is always W3C (`traceparent`, optional `tracestate`), whatever propagator the
 * process registers, so a producer in any language can write it from its own span. Written here
 * rather than through `propagation.inject`: a process that registers a tracer but no propagator
 * would otherwise lose the trace at every hop without a word.
 *
 * A carrier that is not valid never costs the message: the job is handled as one without trace
 * (its spans start a new trace, as the W3C recommendation says of a `traceparent` it cannot
 * parse), and the node says why once per job in its log ({@link contextOfCarrier}).
 */
export interface TraceCarrier {
  /** `version-traceid-parentid-flags`, e.g. `00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01`. */
  readonly traceparent: string;
  /** The vendors' list (`key=value,…`), at most {@link MAX_TRACESTATE_LENGTH} characters. */
  readonly tracestate?: string;
}

/** The job data field that holds the {@link TraceCarrier}. */
export const TRACE_FIELD = 'trace';
/** Longest `traceparent` read (55 characters for version 00; later versions may append fields). */
export const MAX_TRACEPARENT_LENGTH = 256;
/** Longest `tracestate` read: the 512 characters W3C asks every platform to propagate. */
export const MAX_TRACESTATE_LENGTH = 512;

const TRACEPARENT = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/**
 * The carrier of the span active in `ctx` (by default the active context), or `undefined` when
 * no valid span is there: then nothing is written, and without an OpenTelemetry SDK that is
 * always the answer (the API's no-op context has no span), at the cost of one lookup.
 */
export function traceCarrier(ctx: Context = context.active()): TraceCarrier | undefined {
  const span = trace.getSpan(ctx);
  if (span === undefined) return undefined;
  const spanContext = span.spanContext();
  if (!isSpanContextValid(spanContext)) return undefined;
  const flags = spanContext.traceFlags & TraceFlags.SAMPLED ? '01' : '00';
  const traceparent = `00-${spanContext.traceId}-${spanContext.spanId}-${flags}`;
  const tracestate = spanContext.traceState?.serialize();
  return tracestate ? { traceparent, tracestate } : { traceparent };
}

/** What a job's `trace` field gives: the remote parent to start its spans under, or why it was ignored. */
export type ExtractedTrace = { readonly ok: true; readonly context: Context } | { readonly ok: false; readonly problem: string };

/**
 * Reads a job's `trace` field (anything, as it came out of Redis) into a context whose span is
 * the remote parent, under `base` (by default the root context). Checked field by field, each
 * problem named: an object with `traceparent` (a W3C `traceparent`, version not `ff`, trace and
 * parent ids not all zeros) and optionally `tracestate` (a string of at most
 * {@link MAX_TRACESTATE_LENGTH} characters; list members W3C does not allow are dropped), nothing else.
 */
export function contextOfCarrier(carrier: unknown, base: Context = ROOT_CONTEXT): ExtractedTrace {
  if (typeof carrier !== 'object' || carrier === null || Array.isArray(carrier)) return { ok: false, problem: 'trace must be an object { traceparent, tracestate? }' };
  for (const key in carrier) {
    if (Object.hasOwn(carrier, key) && key !== 'traceparent' && key !== 'tracestate') return { ok: false, problem: `trace has an unknown field ${JSON.stringify(key.slice(0, 64))}: it is { traceparent, tracestate? }` };
  }
  const { traceparent, tracestate } = carrier as { traceparent?: unknown; tracestate?: unknown };
  if (typeof traceparent !== 'string' || traceparent.length > MAX_TRACEPARENT_LENGTH) return { ok: false, problem: `trace.traceparent must be a string of at most ${MAX_TRACEPARENT_LENGTH} characters` };
  const match = TRACEPARENT.exec(traceparent);
  if (!match) return { ok: false, problem: `trace.traceparent ${JSON.stringify(traceparent.slice(0, 64))} is not "version-traceid(32 hex)-parentid(16 hex)-flags(2 hex)"` };
  const [, version, traceId, spanId, flags, rest] = match as unknown as [string, string, string, string, string, string | undefined];
  // Version ff is forbidden; version 00 has exactly four fields; a later one may have more.
  if (version === 'ff' || (version === '00' && rest !== undefined)) return { ok: false, problem: `trace.traceparent has version ${version}${rest === undefined ? '' : ' and extra fields'}` };
  if (tracestate !== undefined && (typeof tracestate !== 'string' || tracestate.length > MAX_TRACESTATE_LENGTH)) {
    return { ok: false, problem: `trace.tracestate must be a string of at most ${MAX_TRACESTATE_LENGTH} characters` };
  }
  const spanContext = {
    traceId,
    spanId,
    traceFlags: parseInt(flags, 16) & TraceFlags.SAMPLED,
    isRemote: true,
    ...(tracestate ? { traceState: createTraceState(tracestate) } : {}),
  };
  if (!isSpanContextValid(spanContext)) return { ok: false, problem: 'trace.traceparent has an all-zero trace id or parent id' };
  return { ok: true, context: trace.setSpanContext(base, spanContext) };
}
