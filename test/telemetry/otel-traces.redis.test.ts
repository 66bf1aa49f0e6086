/**
 * Issue 17's traces on real processes: a `governor start` node with GOVERNOR_OTEL=1 and the real
 * `governor enqueue`, each with an OpenTelemetry SDK registered before the command runs
 * (test/support/otel-setup.mjs: in-memory exporter, async context, W3C propagator), on a private
 * `redis-server`. One lifecycle event is one trace: the CLI's `governor.enqueue` is its only root,
 * and the node's job, the orchestrator's and every governor's steps, and the commit hang under it,
 * each span's parent a span of the trace. A job without trace data and one whose `traceparent`
 * is not valid are handled all the same (the latter logged, its spans a new trace).
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OutcomeReader } from '../../src/cli/enqueue/wait.ts';
import { governorsFor } from '../../src/marketplace/event-routing.ts';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import { pseudonymiseCustomer } from '../../src/marketplace/receipts.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { governorAsync as governor, startGovernorNodeWithMetrics } from '../cli/governor-command.ts';
import { privateRedisForFile } from '../support/private-redis.ts';

const LIMIT_MS = 120_000;
const SETUP = fileURLToPath(new URL('../support/otel-setup.mjs', import.meta.url));
const PSEUDONYM_KEY = randomBytes(32).toString('base64url');
const db = privateRedisForFile();

interface SpanLine {
  readonly pid: number;
  readonly name: string;
  readonly traceId: string;
  readonly spanId: string;
  readonly parentSpanId?: string;
  readonly attributes: Record<string, unknown>;
  readonly status: { code: number };
}

let spansFile: string;
let prefix: string;
let env: Record<string, string>;
let node: ChildProcess | undefined;
let nodeLog: () => string = () => '';
let spans: SpanLine[] = [];

const customer = `otel-${randomBytes(5).toString('hex')}`;
const pseudonym = `~${pseudonymiseCustomer(customer, PSEUDONYM_KEY).slice(0, 16)}`;
// Raw customer ids must never show on a span: the second and third events' customers too.
const plainCustomer = `otel-plain-${randomBytes(4).toString('hex')}`;
const badCustomer = `otel-bad-${randomBytes(4).toString('hex')}`;

beforeAll(async () => {
  spansFile = join(mkdtempSync(join(tmpdir(), 'governor-otel-')), 'spans.jsonl');
  prefix = `otel${db.next()}`;
  env = { REDIS_URL: db.redis.url, GOVERNOR_PREFIX: prefix, GOVERNOR_PSEUDONYM_KEY: PSEUDONYM_KEY, GOVERNOR_TELEMETRY: '0', GOVERNOR_TEST_SPANS_FILE: spansFile };
  const started = await startGovernorNodeWithMetrics(['--name', 'otel-1', '--prefix', prefix, '--log-level', 'info'], { ...env, GOVERNOR_OTEL: '1', NODE_OPTIONS: `--import=${SETUP}` }, { limitMs: LIMIT_MS });
  node = started.node;
  nodeLog = started.stderr;
}, LIMIT_MS);

afterAll(() => {
  node?.kill('SIGKILL');
});

/** Stops the node gracefully (its SDK writes its spans as it exits) and reads every process's spans. */
async function stopNodeAndReadSpans(): Promise<SpanLine[]> {
  if (node && node.exitCode === null) {
    const exit = new Promise<number | null>((resolve) => node!.once('exit', resolve));
    node.kill('SIGTERM');
    expect(await exit).toBe(0);
  }
  node = undefined;
  return existsSync(spansFile)
    ? readFileSync(spansFile, 'utf8')
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => JSON.parse(line) as SpanLine)
    : [];
}

describe('one lifecycle event, one trace, from governor enqueue to the commit', () => {
  it('the CLI and the node, each with an SDK: the event is completed', async () => {
    const run = await governor(['enqueue', 'CustomerSubscribes', '--customer', customer, '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--wait', '60'], {
      env: { ...env, NODE_OPTIONS: `--import=${SETUP}` },
    });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('completed');
  }, LIMIT_MS);

  it('a job without trace data (a CLI without SDK) is handled as before', async () => {
    const run = await governor(['enqueue', 'CustomerSubscribes', '--customer', plainCustomer, '--sku', 'PRO-MONTHLY', '--tier', 'professional', '--wait', '60'], { env });
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('completed');
  }, LIMIT_MS);

  it('a job whose traceparent is not valid is handled, the carrier ignored with a log line', async () => {
    const producer = await GovernorProducer.connect({ url: db.redis.url, prefix });
    const event = { eventId: `bad-trace-${db.next()}`, customerId: badCustomer, occurredAt: new Date().toISOString(), type: 'CustomerSubscribes', sku: 'PRO-MONTHLY', tier: 'professional' } as unknown as LifecycleEvent;
    const id = messageIdOf(event);
    const to = { entity: 'Orchestrator', key: badCustomer };
    const queue = new Queue(producer.queueOf(to), { connection: db.client, prefix });
    await queue.add('lifecycle', { v: 1, id, env: { t: 'cast', to, event: { type: 'lifecycle', event, receivedAt: Date.now() } }, trace: { traceparent: '00-not-a-trace-01' } }, { jobId: producer.jobIdOf(to, id) });
    await queue.close();
    const reader = await OutcomeReader.open(producer);
    try {
      const outcomes = await reader.wait([event], new Map(), messageIdOf, { timeoutMs: 60_000 });
      expect(outcomes.get(event.eventId)?.status).toBe('completed');
    } finally {
      await reader.close();
      await producer.close();
    }
    expect(nodeLog()).toContain("a job's trace context is not valid");
  }, LIMIT_MS);

  it('the spans: one trace per event, the CLI span its only root, every other span’s parent in it', async () => {
    spans = await stopNodeAndReadSpans();
    const roots = spans.filter((s) => s.name === 'governor.enqueue' && s.attributes['governor.entity.key'] === pseudonym);
    expect(roots).toHaveLength(1);
    const root = roots[0]!;
    expect(root.parentSpanId).toBeUndefined();
    expect(root.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.operation.type': 'send', 'governor.lifecycle.type': 'CustomerSubscribes' });

    const inTrace = spans.filter((s) => s.traceId === root.traceId);
    const ids = new Set(inTrace.map((s) => s.spanId));
    // No orphan, no second root: every span but the CLI's has its parent in the trace.
    for (const span of inTrace) {
      if (span === root) continue;
      expect(span.parentSpanId, `${span.name} has no parent`).toBeDefined();
      expect(ids.has(span.parentSpanId!), `${span.name}'s parent is not in the trace`).toBe(true);
    }
    // Produced by the CLI, the rest by the node: two processes, one trace.
    expect(new Set(inTrace.map((s) => s.pid)).size).toBe(2);

    const byId = new Map(inTrace.map((s) => [s.spanId, s]));
    const job = inTrace.find((s) => s.name === 'governor.process');
    expect(job?.parentSpanId).toBe(root.spanId);
    expect(job?.attributes).toMatchObject({ 'messaging.system': 'bullmq', 'messaging.operation.type': 'process', 'governor.entity.kind': 'Orchestrator', 'governor.entity.key': pseudonym });

    const steps = inTrace.filter((s) => s.name === 'governor.step');
    const orchestratorSteps = steps.filter((s) => s.attributes['governor.entity.kind'] === 'Orchestrator');
    expect(orchestratorSteps.length).toBeGreaterThan(0);
    const first = orchestratorSteps.find((s) => s.parentSpanId === job!.spanId);
    expect(first?.attributes).toMatchObject({ 'governor.event.type': 'lifecycle', 'governor.lifecycle.type': 'CustomerSubscribes', 'governor.entity.key': pseudonym });
    // Every governor the event is routed to stepped in this trace, under a step of the trace.
    expect(governorsFor('CustomerSubscribes').length).toBeGreaterThan(1);
    for (const governorKind of governorsFor('CustomerSubscribes')) {
      const governorSteps = steps.filter((s) => s.attributes['governor.entity.kind'] === governorKind);
      expect(governorSteps.length, `no step of ${governorKind}`).toBeGreaterThan(0);
      for (const step of governorSteps) {
        expect(step.attributes['governor.entity.key']).toBe(pseudonym);
        // Caused by a step of the trace (the orchestrator asking, in memory), not just by the job.
        expect(byId.get(step.parentSpanId!)?.name).toBe('governor.step');
      }
    }
    // The job's commit, under the job, committed.
    const commits = inTrace.filter((s) => s.name === 'governor.commit');
    expect(commits.length).toBeGreaterThan(0);
    expect(commits.find((c) => c.parentSpanId === job!.spanId)?.attributes).toMatchObject({ 'governor.commit.result': 'ok' });
    expect(commits.find((c) => c.parentSpanId === job!.spanId)!.attributes['governor.commit.entities']).toBeGreaterThan(1);

    // No span anywhere shows a raw customer id.
    const text = JSON.stringify(spans);
    for (const raw of [customer, plainCustomer, badCustomer]) expect(text).not.toContain(raw);
  });

  it('the job without trace data and the one with a bad carrier start traces of their own on the node, each committed', () => {
    const jobs = spans.filter((s) => s.name === 'governor.process' && s.parentSpanId === undefined);
    const plain = jobs.find((s) => s.attributes['governor.entity.key'] === `~${pseudonymiseCustomer(plainCustomer, PSEUDONYM_KEY).slice(0, 16)}`);
    const bad = jobs.find((s) => s.attributes['governor.entity.key'] === `~${pseudonymiseCustomer(badCustomer, PSEUDONYM_KEY).slice(0, 16)}`);
    expect(plain).toBeDefined();
    expect(plain!.attributes['governor.trace.ignored']).toBeUndefined();
    expect(bad?.attributes['governor.trace.ignored']).toMatch(/traceparent/);
    for (const job of [plain!, bad!]) {
      const commit = spans.find((s) => s.name === 'governor.commit' && s.parentSpanId === job.spanId);
      expect(commit?.attributes['governor.commit.result']).toBe('ok');
      expect(commit?.traceId).toBe(job.traceId);
    }
  });
});
