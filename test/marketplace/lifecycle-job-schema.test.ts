import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormatsModule from 'ajv-formats';
import { afterAll, describe, expect, it } from 'vitest';
import { marketplaceKinds } from '../../machines/index.ts';
import { LIFECYCLE_EVENT_TYPES, type LifecycleEventType } from '../../src/marketplace/event-schema.ts';
import { lifecycleJobJsonSchema, lifecycleJobJsonSchemaText } from '../../src/cli/enqueue/lifecycle-job-schema.ts';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import { EntityHost } from '../../src/runtime/entity-host.ts';
import { createNode } from '../../src/create-node.ts';
import { checkEntityJob } from '../../src/transport/bullmq/entity-job.ts';
import { checkJob, jobIdFor } from '../../src/transport/bullmq/job-format.ts';
import { HOSTILE_STRINGS, hostileJobData } from '../fixtures/hostile/corpus.ts';
import { VALID_EVENTS, validEvent } from './event-examples.ts';

const schemaFile = fileURLToPath(new URL('../../schemas/lifecycle-job.schema.json', import.meta.url));

// ajv-formats is CommonJS; its default export is the plugin under NodeNext's typing too.
const addFormats = addFormatsModule as unknown as (ajv: Ajv2020) => Ajv2020;

describe('schemas/lifecycle-job.schema.json', () => {
  it('is what the code generates (UPDATE_SCHEMAS=1 rewrites it)', () => {
    const expected = lifecycleJobJsonSchemaText();
    if (process.env.UPDATE_SCHEMAS === '1') writeFileSync(schemaFile, expected);
    const actual = readFileSync(schemaFile, 'utf8');
    expect(actual, 'the schema file is stale: run UPDATE_SCHEMAS=1 npx vitest run test/marketplace/lifecycle-job-schema.test.ts').toBe(expected);
  });

  it('compiles in ajv (draft 2020-12, strict mode, with formats)', () => {
    const ajv = addFormats(new Ajv2020({ strict: true, allErrors: false }));
    expect(() => ajv.compile(lifecycleJobJsonSchema())).not.toThrow();
  });
});

// ── the differential test ─────────────────────────────────────────────────────────────────────

/** The node's own checks of a partition job, exactly as a partition runs them (before the partition check). */
const node = createNode({ name: 'schema-test' });
const host = new EntityHost(node, marketplaceKinds({ pseudonymKey: 'a-test-pseudonym-key' }));
afterAll(() => node.stop());

function nodeAccepts(data: unknown, jobId: string | undefined): boolean {
  return checkEntityJob(checkJob(data, jobId), host, 'p.0').ok;
}

const ajv = addFormats(new Ajv2020({ strict: true }));
const schemaAccepts = ajv.compile(lifecycleJobJsonSchema());

interface Case {
  readonly name: string;
  readonly data: unknown;
  /** The BullMQ job id: the contract's `Orchestrator/<key>/<id>` unless the case says otherwise. */
  readonly jobId?: string;
}

const ORCHESTRATOR = 'Orchestrator';

/** A job as the README describes it, for an event (valid or not). */
function job(event: Record<string, unknown>, overrides: { id?: unknown; key?: unknown; receivedAt?: unknown } = {}): Record<string, unknown> {
  const key = 'key' in overrides ? overrides.key : event['customerId'];
  let id: unknown = overrides.id;
  if (!('id' in overrides)) {
    try {
      id = messageIdOf(event as { customerId: string; eventId: string });
    } catch {
      id = 'ev.unknown/unknown'; // an event without safe ids: any id of the right shape
    }
  }
  const message: Record<string, unknown> = { type: 'lifecycle', event };
  if ('receivedAt' in overrides) message['receivedAt'] = overrides.receivedAt;
  return { v: 1, id, env: { t: 'cast', to: { entity: ORCHESTRATOR, key }, event: message } };
}

function contractJobId(data: unknown): string | undefined {
  const d = data as { id?: unknown; env?: { to?: { key?: unknown } } } | null;
  const key = d?.env?.to?.key;
  if (typeof key !== 'string' || typeof d?.id !== 'string') return 'Orchestrator/x/job-1';
  try {
    return jobIdFor({ entity: ORCHESTRATOR, key }, d.id);
  } catch {
    return 'Orchestrator/x/job-1'; // a key with a lone surrogate cannot be percent-encoded
  }
}

const STRING_FIELDS = (type: LifecycleEventType): string[] =>
  Object.entries(validEvent(type))
    .filter(([, value]) => typeof value === 'string')
    .map(([field]) => field);

/** Valid jobs: every event type, with and without receivedAt, a customer id with ":", a resend id. */
function validCases(): Case[] {
  const cases: Case[] = [];
  for (const type of LIFECYCLE_EVENT_TYPES) {
    cases.push({ name: `valid ${type}`, data: job(validEvent(type)) });
    cases.push({ name: `valid ${type} with receivedAt`, data: job(validEvent(type), { receivedAt: 1_760_000_000_000 }) });
  }
  const colon = validEvent('CustomerSubscribes', { customerId: 'acme:eu', eventId: 'sub:1' });
  cases.push({ name: 'customer id with ":"', data: job(colon) });
  cases.push({ name: 'a resend under messageIdOf + suffix', data: job(colon, { id: `${messageIdOf(colon as { customerId: string; eventId: string })}.retry1` }) });
  cases.push({ name: 'receivedAt 0', data: job(validEvent('RenewalDue'), { receivedAt: 0 }) });
  return cases;
}

/** Hostile events inside a well-formed job: each string field replaced by each hostile string, each field removed, wrong types. */
function hostileEventCases(): Case[] {
  const cases: Case[] = [];
  for (const type of LIFECYCLE_EVENT_TYPES) {
    for (const field of STRING_FIELDS(type)) {
      // customerId is also the address key: keep them equal, so only the event is hostile here.
      for (const value of HOSTILE_STRINGS) {
        const event = validEvent(type, { [field]: value });
        cases.push({ name: `${type}.${field} = ${JSON.stringify(value.slice(0, 20))}`, data: job(event, field === 'customerId' ? { key: value } : {}) });
      }
      const without = validEvent(type);
      delete without[field];
      cases.push({ name: `${type} without ${field}`, data: job(without) });
      cases.push({ name: `${type}.${field} = 42`, data: job(validEvent(type, { [field]: 42 })) });
      cases.push({ name: `${type}.${field} = null`, data: job(validEvent(type, { [field]: null })) });
    }
    cases.push({ name: `${type} with an unknown field`, data: job(validEvent(type, { extra: 1 })) });
  }
  const examples = Object.keys(VALID_EVENTS).length;
  expect(examples).toBe(LIFECYCLE_EVENT_TYPES.length);
  cases.push(
    { name: 'tier "Professional"', data: job(validEvent('CustomerSubscribes', { tier: 'Professional' })) },
    { name: 'unknown event type', data: job(validEvent('CustomerSubscribes', { type: 'Bogus' })) },
    { name: 'event type missing', data: job({ eventId: 'e-1', customerId: 'cust-42', occurredAt: '2025-03-01T12:00:00Z' }) },
    { name: 'usage negative', data: job(validEvent('UsageExceedsQuota', { usage: -1 })) },
    { name: 'quantity huge number', data: job(validEvent('UsageRecorded', { quantity: 1e308 })) },
    { name: 'event is an array', data: { v: 1, id: 'ev.cust-42/e-1', env: { t: 'cast', to: { entity: ORCHESTRATOR, key: 'cust-42' }, event: { type: 'lifecycle', event: [] } } } },
    { name: 'event is null', data: { v: 1, id: 'ev.cust-42/e-1', env: { t: 'cast', to: { entity: ORCHESTRATOR, key: 'cust-42' }, event: { type: 'lifecycle', event: null } } } },
    { name: 'event missing', data: { v: 1, id: 'ev.cust-42/e-1', env: { t: 'cast', to: { entity: ORCHESTRATOR, key: 'cust-42' }, event: { type: 'lifecycle' } } } },
  );
  return cases;
}

/** Hostile jobs around a valid event: the format, the envelope, the message. */
function hostileJobCases(): Case[] {
  const event = validEvent('CustomerSubscribes');
  const good = job(event) as { v: number; id: string; env: { t: string; to: Record<string, unknown>; event: Record<string, unknown> } };
  const to = good.env.to;
  const variant = (name: string, change: (copy: typeof good) => unknown, jobId?: string): Case => {
    const copy = structuredClone(good);
    const data = change(copy) ?? copy;
    return jobId === undefined ? { name, data } : { name, data, jobId };
  };
  return [
    variant('v 2', (j) => void (j.v = 2)),
    variant('v "1"', (j) => ({ ...j, v: '1' })),
    variant('v missing', ({ v: _v, ...rest }) => rest),
    variant('id missing (the job id is not a message id of the event)', ({ id: _id, ...rest }) => rest),
    variant('id random', (j) => void (j.id = 'm-123')),
    variant('id with ":"', (j) => void (j.id = 'ev.cust:42/evt-0001')),
    variant('id an integer string', (j) => void (j.id = '42')),
    variant('id empty', (j) => void (j.id = '')),
    variant('id a number', (j) => ({ ...j, id: 7 })),
    variant('id suffix with a space', (j) => void (j.id = `${j.id}.re try`)),
    variant('id too long', (j) => void (j.id = `${j.id}.${'r'.repeat(600)}`)),
    variant('env missing', ({ env: _env, ...rest }) => rest),
    variant('env null', (j) => ({ ...j, env: null })),
    variant('t "reply"', (j) => void (j.env.t = 'reply')),
    variant('t "evil"', (j) => void (j.env.t = 'evil')),
    variant('t missing', (j) => ({ ...j, env: { to: j.env.to, event: j.env.event } })),
    variant('to missing', (j) => ({ ...j, env: { t: 'cast', event: j.env.event } })),
    variant('to a string', (j) => ({ ...j, env: { ...j.env, to: 'Orchestrator/cust-42' } })),
    variant('entity unknown', (j) => void (j.env.to = { entity: 'Nope', key: 'cust-42' })),
    variant('entity lower case', (j) => void (j.env.to = { entity: 'orchestrator', key: 'cust-42' })),
    variant('bare event, as the old README showed', (j) => void (j.env.event = event)),
    variant('bare event of an unknown type', (j) => void (j.env.event = { type: 'Bogus' })),
    variant('message type "Lifecycle"', (j) => void (j.env.event['type'] = 'Lifecycle')),
    variant('message type missing', (j) => void delete j.env.event['type']),
    variant('receivedAt negative', (j) => void (j.env.event['receivedAt'] = -1)),
    variant('receivedAt fractional', (j) => void (j.env.event['receivedAt'] = 1.5)),
    variant('receivedAt a string', (j) => void (j.env.event['receivedAt'] = '1760000000000')),
    variant('receivedAt beyond safe integers', (j) => void (j.env.event['receivedAt'] = 1e20)),
    variant('extra field in the job', (j) => ({ ...j, extra: true })),
    variant('extra field in env', (j) => ({ ...j, env: { ...j.env, priority: 1 } })),
    variant('extra field in to', (j) => void (j.env.to = { ...to, region: 'eu' })),
    variant('extra field in the message', (j) => void (j.env.event['$from'] = { node: 'n', ref: 'r' })),
    variant('extra field in the event', (j) => void ((j.env.event['event'] as Record<string, unknown>)['note'] = 'x')),
    variant('key not a string', (j) => void (j.env.to = { entity: ORCHESTRATOR, key: 42 })),
    ...hostileJobData({ entity: ORCHESTRATOR, key: 'cust-42' }).map(({ name, data }) => ({ name: `corpus: ${name}`, data })),
  ];
}

/**
 * What the JSON Schema cannot say, and the nodes check: each of these is documented in the
 * schema's description. They stay out of the agreement test, and are checked here in the one
 * direction the description states, so the description stays true.
 */
function crossFieldCases(): Case[] {
  const event = validEvent('CustomerSubscribes');
  return [
    // env.to.key must equal the event's customerId: a relation between two fields.
    { name: 'key ≠ customerId', data: job(event, { key: 'cust-43' }) },
    // id must be messageIdOf(event): the right shape, another event's id.
    { name: "id of another event", data: job(event, { id: 'ev.cust-42/evt-0002' }) },
    { name: "id of another customer", data: job(event, { id: 'ev.cust-43/evt-0001' }) },
    // "greater than zero" is a refinement over the decimal pattern.
    { name: 'amount "0.00"', data: job(validEvent('PaymentProcessed', { amount: '0.00' })) },
    // semver's own limits (each number a safe integer) are not a pattern either.
    { name: 'version beyond semver limits', data: job(validEvent('CatalogPublish', { version: '99999999999999999999.0.0' })) },
  ];
}

/** Node-only messages: what nodes send one another, not what producers write. The node takes them, the schema does not. */
function nodeOnlyCases(): Case[] {
  const event = validEvent('CustomerSubscribes');
  const good = job(event) as { v: number; id: string; env: Record<string, unknown> };
  return [
    // A plain send (Erlang's !) and a call (the check tool's, with a caller waiting) of the same message.
    { name: 't "info"', data: { ...good, env: { ...good.env, t: 'info' } } },
    { name: 't "call" with its caller', data: { ...good, id: 'c-1', env: { ...good.env, t: 'call', from: { node: 'n1', ref: 'r1' } } } },
    // A cast from a process carries its pid.
    { name: 'cast with from', data: { ...good, env: { ...good.env, from: '<n1.7>' } } },
    // The schema describes lifecycle jobs; a kind without `accepts` takes any message.
    { name: 'lifecycle message to Billing', data: { ...good, env: { ...good.env, to: { entity: 'Billing', key: 'cust-42' } } } },
  ];
}

/** As the node sees it: the data went through JSON on the way into Redis. */
function asStored(data: unknown): unknown {
  const text = JSON.stringify(data);
  return text === undefined ? undefined : JSON.parse(text);
}

function verdicts(cases: readonly Case[]) {
  return cases.map((c) => {
    const data = asStored(c.data);
    return { name: c.name, node: nodeAccepts(data, c.jobId ?? contractJobId(data)), schema: schemaAccepts(data) };
  });
}

describe('the JSON Schema and the node agree on every job (ajv against the node\'s checks)', () => {
  it('accept every valid job', () => {
    const results = verdicts(validCases());
    expect(results.filter((r) => !r.node || !r.schema)).toEqual([]);
  });

  it('reject every hostile event inside a job', () => {
    const results = verdicts(hostileEventCases());
    expect(results.filter((r) => r.node !== r.schema)).toEqual([]);
    // The corpus is hostile: nearly everything in it is refused (a few hostile strings are valid text).
    expect(results.filter((r) => !r.node).length).toBeGreaterThan(results.length * 0.8);
  });

  it('reject every hostile job (format, envelope, message)', () => {
    const results = verdicts(hostileJobCases());
    expect(results.filter((r) => r.node !== r.schema)).toEqual([]);
    expect(results.filter((r) => r.node)).toEqual([]);
  });

  it('differ only where the schema says: cross-field rules and refinements the node alone enforces', () => {
    expect(verdicts(crossFieldCases())).toEqual(crossFieldCases().map((c) => ({ name: c.name, node: false, schema: true })));
  });

  it('differ only where the schema says: node-to-node messages the schema does not describe', () => {
    expect(verdicts(nodeOnlyCases())).toEqual(nodeOnlyCases().map((c) => ({ name: c.name, node: true, schema: false })));
  });
});
