import { checkEntityAddress, isEntityAddress } from '../../runtime/entity.ts';
import type { Envelope } from '../../runtime/envelope.ts';
import { isPid } from '../../runtime/pid.ts';

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
 */
export interface JobData {
  readonly v: typeof JOB_FORMAT_VERSION;
  readonly id?: string;
  readonly env: Envelope;
}

export type CheckedJob = { ok: true; id: string; envelope: Envelope } | { ok: false; problem: string };

const MAX_ID_LENGTH = 512;

/**
 * Checks a job's data field by field, as it comes out of Redis (written by anyone, in any
 * language): a problem is returned, named, never thrown, so the job is dead-lettered with it.
 */
export function checkJob(data: unknown, jobId: string | undefined): CheckedJob {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return fail('data must be a JSON object { v, id?, env }');
  const job = data as { v?: unknown; id?: unknown; env?: unknown };
  if (job.v !== JOB_FORMAT_VERSION) return fail(`unsupported job format version ${JSON.stringify(job.v)} (this node reads ${JOB_FORMAT_VERSION})`);
  const id = job.id ?? jobId;
  if (typeof id !== 'string' || id.length === 0 || id.length > MAX_ID_LENGTH) return fail('id must be a string of 1 to 512 characters');
  const problem = checkEnvelope(job.env);
  return problem === undefined ? { ok: true, id, envelope: job.env as Envelope } : fail(`env: ${problem}`);
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
  if (typeof type !== 'string' || type.length === 0 || type === '*' || type.startsWith('xstate.')) {
    return 'event.type must be a non-empty string (not "*", not "xstate.…")';
  }
  return undefined;
}

function checkAddress(to: unknown): string | undefined {
  if (isEntityAddress(to)) {
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

/** A JSON Schema of {@link JobData} for entity messages, for producers in other languages. */
export const ENTITY_JOB_JSON_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'Governor entity message (BullMQ job data)',
  type: 'object',
  required: ['v', 'env'],
  properties: {
    v: { const: JOB_FORMAT_VERSION },
    id: { type: 'string', minLength: 1, maxLength: MAX_ID_LENGTH, description: 'message id: the idempotency key; use it as the jobId too' },
    env: {
      type: 'object',
      required: ['t', 'to', 'event'],
      properties: {
        t: { enum: ['cast', 'info'] },
        to: {
          type: 'object',
          required: ['entity', 'key'],
          properties: {
            entity: { type: 'string', pattern: '^[A-Za-z][A-Za-z0-9_-]{0,63}$' },
            key: { type: 'string', minLength: 1, maxLength: 256 },
          },
        },
        event: {
          type: 'object',
          required: ['type'],
          properties: { type: { type: 'string', minLength: 1, not: { pattern: '^(\\*|xstate\\..*)$' } } },
        },
      },
    },
  },
} as const;
