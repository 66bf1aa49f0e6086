/**
 * The trace across queue hops: in `distributed` placement a customer's governors live in
 * partitions of their own kinds, so the orchestrator's `prepare` calls leave through its outbox
 * and the relay into the governors' partition queues, and their replies come back through the
 * node's inbox queue. One event is still one trace: each job's span is the child of the step that
 * sent its message (the relay wrote that step's context into the job), and the library producer
 * roots it in the span active where it was called. A real BullMQ node on a private `redis-server`,
 * with an OpenTelemetry SDK registered in this process (in-memory exporter, async context).
 */
import { context, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { marketplaceKinds } from '../../machines/index.ts';
import { OutcomeReader } from '../../src/cli/enqueue/wait.ts';
import { governorsFor } from '../../src/marketplace/event-routing.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import { pseudonymiseCustomer } from '../../src/marketplace/receipts.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { InvalidJobDataError } from '../../src/transport/bullmq/job-format.ts';
import { Queue } from 'bullmq';
import { startBullmqNode, type BullmqNode } from '../../src/transport/bullmq/index.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

const db = privateRedisForFile();
const exporter = new InMemorySpanExporter();
const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
const contextManager = new AsyncLocalStorageContextManager();
const PSEUDONYM_KEY = randomBytes(32).toString('base64url');
const pseudonymOf = (key: string) => `~${pseudonymiseCustomer(key, PSEUDONYM_KEY).slice(0, 16)}`;

let nodes: BullmqNode[] = [];
let producer: GovernorProducer | undefined;

beforeAll(() => {
  trace.setGlobalTracerProvider(provider);
  context.setGlobalContextManager(contextManager.enable());
});
afterAll(async () => {
  await producer?.close();
  for (const node of nodes) await node.stop({ timeoutMs: 0 });
  trace.disable();
  context.disable();
});

it('distributed placement on two nodes: outbox, relay and node inbox carry the trace; one root, every parent in the trace', async () => {
  const prefix = `hops${db.next()}`;
  const options = { url: db.redis.url, prefix, partitions: 2, placement: 'distributed' as const };
  const kinds = marketplaceKinds({ pseudonymKey: PSEUDONYM_KEY });
  const tracing = { entityKey: (address: { key: string }) => pseudonymOf(address.key) };
  // The orchestrators on one node, the governors on the other: a governor's reply goes back
  // through the first node's inbox queue.
  const governorKinds = kinds.map((k) => k.kind).filter((k) => k !== 'Orchestrator');
  nodes = [
    await startBullmqNode({ ...options, name: 'hops-orchestrators', kinds, nodeKinds: ['Orchestrator'], tracing }),
    await startBullmqNode({ ...options, name: 'hops-governors', kinds, nodeKinds: governorKinds, tracing }),
  ];
  producer = await GovernorProducer.connect(options);
  const customer = `hop-${randomBytes(4).toString('hex')}`;
  const event = { eventId: `e-${db.next()}`, customerId: customer, occurredAt: new Date().toISOString(), type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' } as unknown as LifecycleEvent;

  // The application's own span: the library producer writes its context into the job.
  const root = trace.getTracer('test').startSpan('application.request');
  await context.with(trace.setSpan(context.active(), root), () =>
    producer!.send({ entity: 'Orchestrator', key: customer }, { type: 'lifecycle', event, receivedAt: Date.now() }, { id: messageIdOf(event) }),
  );
  root.end();
  const reader = await OutcomeReader.open(producer);
  try {
    const outcomes = await reader.wait([event], new Map(), messageIdOf, { timeoutMs: 60_000 });
    expect(outcomes.get(event.eventId)?.status).toBe('completed');
  } finally {
    await reader.close();
  }
  for (const node of nodes.splice(0)) await node.stop({ timeoutMs: 30_000 });

  const spans = exporter.getFinishedSpans();
  const traceId = root.spanContext().traceId;
  const inTrace = spans.filter((s) => s.spanContext().traceId === traceId);
  const byId = new Map<string, ReadableSpan>(inTrace.map((s) => [s.spanContext().spanId, s]));
  // One root (the application's span), every other span's parent in the trace.
  expect(inTrace.filter((s) => s.parentSpanContext === undefined).map((s) => s.name)).toEqual(['application.request']);
  for (const span of inTrace) {
    if (span.spanContext().spanId === root.spanContext().spanId) continue;
    expect(byId.has(span.parentSpanContext!.spanId), `${span.name} ${JSON.stringify(span.attributes)} has a parent outside the trace`).toBe(true);
  }

  const jobs = inTrace.filter((s) => s.name === 'governor.process');
  const queues = new Set(jobs.map((s) => s.attributes['messaging.destination.name']));
  const orchestratorJob = jobs.find((s) => s.parentSpanContext?.spanId === root.spanContext().spanId);
  expect(orchestratorJob?.attributes['governor.entity.kind']).toBe('Orchestrator');
  // Each routed governor took its `prepare` from its own partition queue, as the child of the
  // orchestrator step that sent it: the relay wrote the sending step's context into the job.
  for (const governor of governorsFor('CustomerSubscribes')) {
    const job = jobs.find((s) => s.attributes['governor.entity.kind'] === governor && s.attributes['governor.event.type'] === 'prepare');
    expect(job, `no job of ${governor} in the trace`).toBeDefined();
    const sender = byId.get(job!.parentSpanContext!.spanId)!;
    expect(sender.name).toBe('governor.step');
    expect(sender.attributes['governor.entity.kind']).toBe('Orchestrator');
    expect(job!.attributes['governor.entity.key']).toBe(pseudonymOf(customer));
    const step = inTrace.find((s) => s.name === 'governor.step' && s.parentSpanContext?.spanId === job!.spanContext().spanId);
    expect(step?.attributes['governor.entity.kind']).toBe(governor);
  }
  // Replies came back through the node's inbox queue, in the trace too.
  const inboxJobs = jobs.filter((s) => !String(s.attributes['messaging.destination.name']).startsWith('{p.'));
  expect(inboxJobs.length, [...queues].join(' ')).toBeGreaterThan(0);
  for (const job of inboxJobs) expect(byId.get(job.parentSpanContext!.spanId)?.name).toBe('governor.step');
  expect(queues.size).toBeGreaterThan(2);
  // Commits: the orchestrator's job's, and the governors' — all in the trace.
  const commits = inTrace.filter((s) => s.name === 'governor.commit');
  expect(commits.length).toBeGreaterThan(governorsFor('CustomerSubscribes').length);
  expect(commits.every((c) => c.attributes['governor.commit.result'] === 'ok')).toBe(true);
}, 120_000);

it('the library producer: no span active, no trace field; a carrier given that is not valid, refused with nothing written', async () => {
  const prefix = `hops${db.next()}`;
  producer = await GovernorProducer.connect({ url: db.redis.url, prefix, partitions: 2 });
  const to = { entity: 'Billing', key: `p-${db.next()}` };
  const queue = new Queue(producer.queueOf(to), { connection: db.client, prefix });
  try {
    await producer.send(to, { type: 'ping' }, { id: 'plain-1' });
    expect((await queue.getJob(producer.jobIdOf(to, 'plain-1')))?.data).toEqual({ v: 1, id: 'plain-1', env: { t: 'cast', to, event: { type: 'ping' } } });

    await expect(producer.sendMany([{ to, event: { type: 'ping' }, id: 'bad-trace-1', trace: { traceparent: 'junk' } }])).rejects.toThrow(InvalidJobDataError);
    expect(await queue.getJob(producer.jobIdOf(to, 'bad-trace-1'))).toBeUndefined();

    const carrier = { traceparent: `00-${'a'.repeat(32)}-${'b'.repeat(16)}-01`, tracestate: 'vendor=x' };
    await producer.sendMany([{ to, event: { type: 'ping' }, id: 'traced-1', trace: carrier }]);
    expect((await queue.getJob(producer.jobIdOf(to, 'traced-1')))?.data.trace).toEqual(carrier);
  } finally {
    await queue.close();
  }
}, 60_000);
