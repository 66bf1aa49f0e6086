import { GovernorError } from '../../errors.ts';
import { checkEntityAddress, isEntityAddress } from '../../runtime/entity.ts';
import { hasLoneSurrogate } from '../../unicode.ts';
import { isReservedEventType, type Envelope } from '../../runtime/envelope.ts';
import { isPid } from '../../runtime/pid.ts';
import { MAX_TRACEPARENT_LENGTH, MAX_TRACESTATE_LENGTH, type TraceCarrier } from './trace-context.ts';

/** The version of the job format below; jobs of other versions are dead-lettered. */
export const JOB_FORMAT_VERSION = 1;

/**
 * The data of every Governor job (the BullMQ job's `data`), in any queue:
 *
 * ```json
 * { "v": 1, "id": "order-42", "env": { "t": "cast", "to": { "entity": "Billing", "key": "c-1" }, "event": { "type": "PaymentProcessed" } } }
 * ```
 *
 * `id` is the message id, the idempotency key: a message with an id its target has handled is
 * skipped. Producers should also use it as the BullMQ `jobId` (then BullMQ ignores a duplicate
 * add while the first job is kept). Without `id`, the job id is the message id.
 *
 * `trace` is the W3C Trace Context of the span that sent the message (see `trace-context.ts`):
 * optional, and never a reason to refuse a job (a carrier that is not valid is ignored, with a
 * log line, by a node that traces).
 */
export interface JobData {
  readonly v: typeof JOB_FORMAT_VERSION;
  readonly id?: string;
  readonly env: Envelope;
  readonly trace?: TraceCarrier;
}

/** A checked job; `trace` is the job's `trace` field as it came (checked only by a node that traces: `contextOfCarrier`). */
export type CheckedJob = { ok: true; id: string; envelope: Envelope; trace?: unknown } | { ok: false; problem: string };

const MAX_ID_LENGTH = 512;

/**
 * Checks a job's data field by field, as it comes out of Redis (written by anyone, in any
 * language): a problem is returned, named, never thrown, so the job is dead-lettered with it.
 */
export function checkJob(data: unknown, jobId: string | undefined): CheckedJob {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('data must be a JSON object { v, id?, env, trace? }');
  const job = data as { v?: unknown; id?: unknown; env?: unknown; trace?: unknown };
  const unknown = unknownField(job, JOB_FIELDS);
  if (unknown !== undefined) return fail(`unknown field ${JSON.stringify(unknown)}: a job's data is { v, id?, env, trace? }`);
  if (job.v !== JOB_FORMAT_VERSION) return fail(`unsupported job format version ${JSON.stringify(job.v)} (this node reads ${JOB_FORMAT_VERSION})`);
  const id = job.id ?? jobId;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return fail('id must be a string of 1 to 512 characters');
  // Stored as UTF-8, "\uD800" and "\uDFFF" are the same bytes: one message would pass for the other's duplicate.
  if (hasLoneSurrogate(id)) return fail('id must be well-formed Unicode (no lone UTF-16 surrogates)');
  const problem = checkEnvelope(job.env);
  if (problem !== undefined) return fail(`env: ${problem}`);
  return job.trace === undefined ? { ok: true, id, envelope: job.env as Envelope } : { ok: true, id, envelope: job.env as Envelope, trace: job.trace };
}

const JOB_FIELDS: ReadonlySet<string> = new Set(['v', 'id', 'env', 'trace']);
/** The fields of a message envelope (cast, info, call). */
const MESSAGE_FIELDS: ReadonlySet<string> = new Set(['t', 'to', 'from', 'event']);
const ENTITY_ADDRESS_FIELDS: ReadonlySet<string> = new Set(['entity', 'key']);

/**
 * The first field of `value` not in `known`. A misspelt field is refused rather than ignored, so
 * what a producer meant to say is never silently lost (and the documented schema, strict, agrees).
 */
function unknownField(value: object, known: ReadonlySet<string>): string | undefined {
  // A loop over the own keys, not `Object.keys(…).find`: this runs for every level of every job
  // a node takes, and the array was garbage at once.
  for (const key in value) if (Object.hasOwn(value, key) && !known.has(key)) return key;
  return undefined;
}

function fail(problem: string): CheckedJob {
  return { ok: false, problem };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function checkEvent(event: unknown): string | undefined {
  if (!isObject(event)) return 'event must be an object';
  const type = event['type'];
  if (typeof type !== 'string' || isReservedEventType(type)) {
    return 'event.type must be a non-empty string (not "*", not "xstate.…" other than "xstate.route")';
  }
  return undefined;
}

function checkAddress(to: unknown): string | undefined {
  if (isEntityAddress(to)) {
    const unknown = unknownField(to, ENTITY_ADDRESS_FIELDS);
    if (unknown !== undefined) return `to has an unknown field ${JSON.stringify(unknown)}: an entity address is { entity, key }`;
    try {
      checkEntityAddress(to);
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  }
  if (typeof to === 'string' && to.length > 0) return undefined;
  if (isObject(to) && typeof to['name'] === 'string' && typeof to['node'] === 'string') return undefined;
  return 'to must be a pid, a name, { name, node } or { entity, key }';
}

function checkCaller(from: unknown): boolean {
  return isObject(from) && typeof from['node'] === 'string' && typeof from['ref'] === 'string';
}

/** The envelope's shape, per kind; `undefined` when it is well formed. */
export function checkEnvelope(env: unknown): string | undefined {
  if (!isObject(env)) return 'must be an object';
  if (env['t'] === 'cast' || env['t'] === 'info' || env['t'] === 'call') {
    const unknown = unknownField(env, MESSAGE_FIELDS);
    if (unknown !== undefined) return `unknown field ${JSON.stringify(unknown)}: a ${env['t']} is { t, to, from?, event }`;
  }
  switch (env['t']) {
    case 'cast':
    case 'info':
      if (env['from'] !== undefined && !isPid(env['from'])) return 'from must be a pid';
      return checkAddress(env['to']) ?? checkEvent(env['event']);
    case 'call':
      if (!checkCaller(env['from'])) return 'from must be the caller { node, ref }';
      return checkAddress(env['to']) ?? checkEvent(env['event']);
    case 'reply':
      return checkCaller(env['to']) ? undefined : 'to must be the caller { node, ref }';
    case 'exit':
      return isPid(env['to']) && isPid(env['from']) && typeof env['linked'] === 'boolean' ? undefined : 'exit needs pids to and from, and linked';
    case 'down':
      return (isPid(env['to']) || checkCaller(env['to'])) && typeof env['ref'] === 'string' ? undefined : 'down needs to and ref';
    case 'link':
    case 'unlink':
      return isPid(env['to']) && isPid(env['from']) ? undefined : `${env['t']} needs pids to and from`;
    case 'monitor':
    case 'demonitor':
      return typeof env['ref'] === 'string' && (isPid(env['from']) || checkCaller(env['from'])) ? checkAddress(env['to']) : `${env['t']} needs to, from and ref`;
    default:
      return `t must be one of cast, info, call, reply, exit, down, link, unlink, monitor, demonitor; got ${JSON.stringify(env['t'])}`;
  }
}

/**
 * The BullMQ job id of a message: for an entity, its target and its id. A partition queue is
 * shared by many entities, each with message ids of its own, and BullMQ ignores an add whose job
 * id is in the queue already (waiting, or kept once completed where `removeOnComplete` keeps
 * jobs): with the message id alone,
 * customer B's message "invoice-1" (or a message it sends on, "invoice-1/1") would be dropped as
 * a duplicate of customer A's. The kind has no "/" and the percent-encoded key none either, so
 * different targets never share a job id. Other envelopes go to one node's inbox: the id alone.
 */
export function jobIdFor(to: unknown, id: string): string {
  return isEntityAddress(to) ? `${to.entity}/${encodeURIComponent(to.key)}/${id}` : id;
}

/**
 * What a message id must be to be a BullMQ job id and an idempotency key: 1 to 512 characters,
 * no `:` (BullMQ refuses it), not an integer's spelling (BullMQ refuses `"42"` and `"-42"`), and
 * well-formed Unicode (as UTF-8, `"m-\uD800"` and `"m-\uDFFF"` are the same bytes, so one message
 * would be skipped as the other's duplicate). `undefined` when it may be used.
 */
export function checkMessageId(id: unknown): string | undefined {
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return `must be a string of 1 to ${MAX_ID_LENGTH} characters`;
  if (id.includes(':')) return 'must not contain ":" (BullMQ job ids cannot)';
  if (`${parseInt(id, 10)}` === id) return 'must not be an integer (BullMQ job ids cannot be): prefix it, e.g. "m-42"';
  if (hasLoneSurrogate(id)) return 'is not well-formed Unicode (it has a lone UTF-16 surrogate)';
  return undefined;
}

/** Deepest nesting of a job's data a producer may send (an actor message is a small record). */
export const MAX_JOB_DEPTH = 64;
/** Largest job data a producer may send: 1 MiB of UTF-8 JSON. */
export const MAX_JOB_BYTES = 1_048_576;
const MAX_JOB_VALUES = 100_000;

/** Job data a producer was about to send exceeds the limits, or is not JSON data. */
export class InvalidJobDataError extends GovernorError {
  constructor(readonly problem: string, options?: { cause?: unknown }) {
    super('INVALID_JOB_DATA', `the message cannot be enqueued: ${problem}; send a small JSON record (validate events with parseLifecycleEvent first)`, options);
  }
}

/**
 * A message id (an idempotency key) that was used before for a message with other content: a job
 * under it is in its queue (waiting, delayed, or kept once completed) with different content, or
 * an earlier message of the same batch has it. BullMQ would drop the add silently as a duplicate
 * of that job; the producer refuses it instead, naming every such id.
 */
export class IdempotencyKeyReusedError extends GovernorError {
  constructor(
    readonly reused: readonly { readonly to: unknown; readonly id: string }[],
    /** Whether the batch's other messages were written (the reuse was found only after the add, a race with another producer). */
    readonly othersWritten = false,
  ) {
    const ids = reused.map((r) => `${JSON.stringify(r.id)} to ${isEntityAddress(r.to) ? `${r.to.entity}/${r.to.key}` : String(r.to)}`).join(', ');
    super(
      'IDEMPOTENCY_KEY_REUSED',
      `message id ${ids} was used before for a message with different content, so ${reused.length === 1 ? 'it was' : 'they were'} not enqueued` +
        `${othersWritten ? ' (the other messages of the batch were)' : ', nor anything else of the batch'}: a message id stands for one message; send other content under a new id`,
    );
  }
}

/**
 * Checks job data before it goes to BullMQ, which would otherwise fail deep inside `Queue.add`
 * (a `RangeError` from its serializer at a few thousand levels of nesting), store megabytes per
 * job, or store something else than what was sent: JSON turns a `Map` or a `Set` into `{}`, a
 * `Date` into a string, `NaN` into `null`, and drops a function, so the receiver would act on
 * other data than the sender meant (and a resend could not be compared with what is stored).
 * Only plain JSON data passes: objects (of `Object.prototype` or none), arrays, strings, finite
 * numbers, booleans, `null`, and `undefined` as a member that JSON leaves out. Depth and value
 * count are walked without recursion, so a hostile value cannot overflow the stack here either
 * (and a cycle is just too deep). `undefined` when the data may be sent.
 */
export function checkJobDataLimits(data: unknown): string | undefined {
  // Three parallel stacks rather than one of [value, depth, member] tuples: a producer checks every
  // message it sends, and the tuples were most of what the check allocated.
  const values: unknown[] = [data];
  const depths: number[] = [0];
  const members: boolean[] = [false];
  let count = 0;
  // An upper bound of the JSON's UTF-8 size (3 bytes per code unit, escapes included), so the
  // common small message is never serialized twice.
  let bound = 0;
  while (values.length > 0) {
    const value = values.pop();
    const depth = depths.pop()!;
    const member = members.pop()!;
    if (++count > MAX_JOB_VALUES) return `more than ${MAX_JOB_VALUES} values`;
    if (typeof value === 'string') bound += 6 * value.length + 3;
    else if (typeof value === 'number') {
      if (!Number.isFinite(value)) return `not JSON data (${String(value)}: JSON has no such number)`;
      bound += 24;
    } else if (typeof value === 'boolean' || value === null) bound += 5;
    else if (value === undefined) {
      if (!member) return 'not JSON data (undefined outside an object member)';
    } else if (typeof value !== 'object') return `not JSON data (a ${typeof value})`;
    else {
      if (depth >= MAX_JOB_DEPTH) return `nested deeper than ${MAX_JOB_DEPTH} levels (or it contains itself)`;
      if (Array.isArray(value)) {
        bound += 2;
        for (const item of value as unknown[]) {
          bound += 1;
          values.push(item);
          depths.push(depth + 1);
          members.push(false);
        }
        continue;
      }
      const prototype = Object.getPrototypeOf(value) as unknown;
      if (prototype !== Object.prototype && prototype !== null) {
        const name = (value as { constructor?: { name?: unknown } }).constructor?.name;
        return `not JSON data (a ${typeof name === 'string' && name !== '' ? name : 'non-plain object'}: send plain objects, arrays, strings, finite numbers, booleans and null)`;
      }
      bound += 2;
      // Own enumerable string keys, as JSON.stringify (and Object.keys) sees them.
      for (const key in value) {
        if (!Object.hasOwn(value, key)) continue;
        bound += 6 * key.length + 5;
        values.push((value as Record<string, unknown>)[key]);
        depths.push(depth + 1);
        members.push(true);
      }
    }
  }
  if (bound <= MAX_JOB_BYTES) return undefined;
  const bytes = Buffer.byteLength(JSON.stringify(data) ?? '', 'utf8');
  return bytes > MAX_JOB_BYTES ? `${bytes} bytes of JSON; the limit is ${MAX_JOB_BYTES}` : undefined;
}

/**
 * The JSON Schema of a job's `trace` field, the W3C Trace Context of the sender's span. Stricter
 * than the nodes, which ignore a carrier that is not valid (with a log line) rather than refuse
 * the message: a producer's trace is diagnostics, never a reason to lose an event.
 */
export const TRACE_JSON_SCHEMA = {
  type: 'object',
  description: 'W3C Trace Context of the span that sent the message; optional. A node that traces starts its spans under it; one that is not valid is ignored (logged), never a reason to refuse the job.',
  required: ['traceparent'],
  additionalProperties: false,
  properties: {
    traceparent: { type: 'string', maxLength: MAX_TRACEPARENT_LENGTH, pattern: '^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}(-.*)?$', description: 'W3C traceparent, e.g. 00-<trace id>-<parent span id>-01' },
    tracestate: { type: 'string', maxLength: MAX_TRACESTATE_LENGTH, description: 'W3C tracestate' },
  },
} as const;

/**
 * A JSON Schema of {@link JobData} for a message to an entity of any kind: the shape
 * {@link checkJob} checks, not what each kind takes. Lifecycle events have a schema of their own,
 * generated from the zod schemas the nodes validate them with (`schemas/lifecycle-job.schema.json`,
 * `governor schema --job`): use that one for them.
 */
export const ENTITY_JOB_JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Governor entity message (BullMQ job data)',
  description: "Any entity message; each kind may refuse messages it does not take (dead-lettered with the reason). Lifecycle events: see lifecycle-job.schema.json.",
  type: 'object',
  additionalProperties: false,
  required: ['v', 'env'],
  properties: {
    v: { const: JOB_FORMAT_VERSION },
    id: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH, description: 'message id: the idempotency key; use it as the jobId too' },
    env: {
      type: 'object',
      required: ['t', 'to', 'event'],
      additionalProperties: false,
      properties: {
        t: { enum: ['cast', 'info'] },
        to: {
          type: 'object',
          required: ['entity', 'key'],
          additionalProperties: false,
          properties: {
            entity: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$' },
            key: { type: 'string', minLength: 1, maxLength: 256 },
          },
        },
        event: {
          type: 'object',
          required: ['type'],
          // `xstate.route` without a lookahead, which not every JSON Schema validator's regex has.
          properties: { type: { type: 'string', minLength: 1, anyOf: [{ const: 'xstate.route' }, { not: { pattern: '^(\\*|xstate\\..*)$' } }] } },
        },
      },
    },
    trace: TRACE_JSON_SCHEMA,
  },
} as const;
