import type { ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Queue } from 'bullmq';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LifecycleEvent } from '../../src/marketplace/event-schema.ts';
import { messageIdOf } from '../../src/marketplace/lifecycle-message.ts';
import { RedisKeys } from '../../src/store/redis-keys.ts';
import { GovernorProducer } from '../../src/transport/bullmq/producer.ts';
import { parsePrometheusText, samplesOf, type MetricFamily } from '../support/prometheus-text.ts';
import { startRedis, type RedisHandle } from '../support/redis-server.ts';
import { governor, startGovernorNodeWithMetrics } from './governor-command.ts';

// One real `governor start` node against a private Redis: what an operator's Prometheus scrapes
// from it, parsed as the text format (names, types, HELP, labels, values), after a few events
// that move each counter: a reused eventId (at the door and as a raw job), an exact duplicate, a
// poison job, a burst over a tenant's rate and an unsigned admin mutation.

/** Generous: two shared cores, and a node that starts BullMQ workers for every partition. */
const LIMIT_MS = 90_000;
const NODE = 'metrics-1';
const keys = new RedisKeys('governor');
const run = `${process.pid}-${Date.now().toString(36)}`;
const customer = `m-alice-${run}`;
const subscribes = { type: 'CustomerSubscribes', customerId: customer, eventId: `sub-${run}`, occurredAt: new Date().toISOString(), sku: 'PRO-MONTHLY', tier: 'professional' };

let redis: RedisHandle;
let node: ChildProcess | undefined;
let producer: GovernorProducer;
const queues: Queue[] = [];
let metricsUrl: string;
let nodeLog: () => string = () => '';

beforeAll(async () => {
  redis = await startRedis({ mode: 'private' });
  ({ node, metricsUrl, stderr: nodeLog } = await startGovernorNodeWithMetrics(['--redis', redis.url, '--name', NODE], { GOVERNOR_TELEMETRY: '0', GOVERNOR_ADMIN_TOKEN: 'a-test-admin-token-of-enough-length' }, { limitMs: LIMIT_MS }));
  producer = await GovernorProducer.connect({ url: redis.url });
}, LIMIT_MS * 2);

afterAll(async () => {
  await Promise.all(queues.map((queue) => queue.close()));
  await producer?.close();
  if (node && node.exitCode === null) {
    const exited = new Promise((resolve) => node!.once('exit', resolve));
    node.kill('SIGTERM');
    await exited;
  }
  await redis?.stop();
});

async function scrape(): Promise<Map<string, MetricFamily>> {
  const response = await fetch(metricsUrl);
  expect(response.status).toBe(200);
  return parsePrometheusText(await response.text());
}

/** Scrapes until `done` holds, or fails with the node's log after LIMIT_MS. */
async function scrapeUntil(done: (families: Map<string, MetricFamily>) => boolean, what: string): Promise<Map<string, MetricFamily>> {
  const deadline = Date.now() + LIMIT_MS;
  for (;;) {
    const families = await scrape();
    if (done(families)) return families;
    if (Date.now() > deadline) throw new Error(`${what} did not show in /metrics within ${LIMIT_MS} ms; node log:\n${nodeLog()}`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

const valueOf = (families: Map<string, MetricFamily>, name: string, labels: Record<string, string> = {}): number =>
  samplesOf(families, name, labels).reduce((sum, sample) => sum + sample.value, 0);

function queueOf(customerId: string): Queue {
  const queue = new Queue(producer.queueOf({ entity: 'Orchestrator', key: customerId }), { connection: redis.client(), prefix: 'governor' });
  queues.push(queue);
  return queue;
}

/** Job data of a lifecycle event, as the transport README's job format says. */
const jobData = (event: Record<string, unknown>) => ({
  v: 1,
  id: messageIdOf(event as unknown as LifecycleEvent),
  env: { t: 'cast', to: { entity: 'Orchestrator', key: event['customerId'] }, event: { type: 'lifecycle', event, receivedAt: Date.now() } },
});

describe('governor start --metrics-port, scraped and parsed', () => {
  it('exports Node’s default metrics under their standard names and governor_build_info', async () => {
    const families = await scrape();
    for (const name of ['process_cpu_seconds_total', 'process_resident_memory_bytes', 'nodejs_heap_size_used_bytes', 'nodejs_eventloop_lag_seconds']) {
      expect(families.get(name), name).toBeDefined();
      expect(families.get(name)!.help, name).toBeTruthy();
    }
    expect(families.get('process_cpu_seconds_total')!.type).toBe('counter');
    expect([...families.keys()].filter((name) => name.startsWith('governor_process_') || name.startsWith('governor_nodejs_'))).toEqual([]);

    const info = families.get('governor_build_info')!;
    expect(info.type).toBe('gauge');
    expect(info.samples).toHaveLength(1);
    expect(info.samples[0]!.value).toBe(1);
    expect(info.samples[0]!.labels['node_version']).toBe(process.version);
    expect(info.samples[0]!.labels['version']).toMatch(/^\d+\.\d+\.\d+/);
  });

  it('reports each owned partition’s queue depth by partition, the partitions owned, and the DLQ once (this node is the oldest member)', async () => {
    const families = await scrapeUntil((f) => valueOf(f, 'governor_partitions_owned') === 16, 'all 16 partitions owned');
    expect(families.get('governor_partitions_owned')!.type).toBe('gauge');
    const depth = families.get('governor_queue_depth')!;
    expect(depth.type).toBe('gauge');
    const partitions = new Set(depth.samples.map((s) => s.labels['partition']));
    expect([...partitions].sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 16 }, (_, i) => String(i)));
    for (const sample of depth.samples) {
      expect(Object.keys(sample.labels).sort()).toEqual(['partition', 'state']);
      expect(['waiting', 'active', 'delayed', 'prioritized', 'failed']).toContain(sample.labels['state']);
    }
    expect(samplesOf(families, 'governor_dead_letters', { queue: keys.deadLetterQueue })).toHaveLength(1);
  }, LIMIT_MS * 2);

  it('counts a reused eventId, a duplicate, a poison job, a throttled burst and a refused admin request', async () => {
    const done = governor(['enqueue', '--json', JSON.stringify(subscribes), '--redis', redis.url, '--wait', '60']);
    expect(done.code, done.stderr).toBe(0);
    // The same eventId with other content, at the door: refused, nothing enqueued.
    const reused = governor(['enqueue', '--json', JSON.stringify({ ...subscribes, tier: 'enterprise', sku: 'ENT-YEARLY' }), '--redis', redis.url]);
    expect(reused.stderr).toContain('IDEMPOTENCY_KEY_REUSED');
    // The same, as raw jobs past the door: one with other content (refused by the kind and
    // dead-lettered), one exact copy under a new job id (skipped), and a poison job.
    const queue = queueOf(customer);
    await queue.add('CustomerSubscribes', jobData({ ...subscribes, tier: 'enterprise', sku: 'ENT-YEARLY' }), { jobId: `raw-reuse-${run}` });
    await queue.add('CustomerSubscribes', jobData(subscribes), { jobId: `raw-dup-${run}` });
    await queue.add('CustomerCancels', { v: 1, nothing: 'else' }, { jobId: `raw-poison-${run}` });
    // A burst over an unsubscribed tenant's rate (community: 10/s, 10 s of backlog): some refused.
    const dir = mkdtempSync(join(tmpdir(), 'node-metrics-'));
    const burst = Array.from({ length: 150 }, (_, i) =>
      JSON.stringify({ type: 'UsageRecorded', customerId: `m-bob-${run}`, eventId: `u-${i}`, occurredAt: new Date().toISOString(), metric: 'executions', quantity: 1, idempotencyKey: `k-${i}` }),
    );
    writeFileSync(join(dir, 'burst.ndjson'), burst.join('\n') + '\n');
    const throttled = governor(['enqueue', '--file', join(dir, 'burst.ndjson'), '--redis', redis.url]);
    const refusedByThrottle = /(\d+) throttled/.exec(throttled.stderr);
    expect(refusedByThrottle, throttled.stderr).not.toBeNull();
    // An unsigned mutation on the node's admin list: answered ADMIN_UNSIGNED, and counted.
    const client = redis.client();
    const id = `req-${run}`;
    await client.rpush(keys.adminRequests(NODE), JSON.stringify({ id, node: NODE, command: 'suspend', nonce: `n-${run}`, args: ['x'], issuedAt: Date.now() }));
    const [, reply] = (await client.blpop(keys.adminReply(id), 30))!;
    expect(JSON.parse(reply)).toMatchObject({ ok: false, code: 'ADMIN_UNSIGNED' });

    // Every counter is waited for, not only the node's own: the DLQ depth and the producers'
    // fleet-wide refusals are sampled from Redis, on the reporter's own beat.
    const families = await scrapeUntil(
      (f) =>
        valueOf(f, 'governor_dead_lettered_total', { reason: 'invalid_job' }) >= 1 &&
        valueOf(f, 'governor_dead_lettered_total', { reason: 'refused_by_kind' }) >= 1 &&
        valueOf(f, 'governor_duplicate_messages_skipped_total') >= 1 &&
        valueOf(f, 'governor_reused_key_refusals_total') >= 1 &&
        valueOf(f, 'governor_throttled_events_total') >= Number(refusedByThrottle![1]) &&
        valueOf(f, 'governor_admin_requests_refused_total', { code: 'ADMIN_UNSIGNED' }) >= 1 &&
        valueOf(f, 'governor_dead_letters', { queue: keys.deadLetterQueue }) >= 2,
      'the dead-lettered and skipped raw jobs, the door refusals and the refused admin request',
    );
    const counters: [string, string[]][] = [
      ['governor_dead_lettered_total', ['reason']],
      ['governor_duplicate_messages_skipped_total', ['kind']],
      ['governor_refused_messages_total', ['kind']],
      ['governor_throttled_events_total', []],
      ['governor_reused_key_refusals_total', []],
      ['governor_admin_requests_refused_total', ['code']],
      ['governor_commit_conflicts_total', ['result']],
    ];
    for (const [name, labels] of counters) {
      const family = families.get(name);
      expect(family, name).toBeDefined();
      expect(family!.type, name).toBe('counter');
      expect(family!.help, name).toBeTruthy();
      for (const sample of family!.samples) expect(Object.keys(sample.labels).sort(), name).toEqual(labels);
    }
    expect(valueOf(families, 'governor_dead_lettered_total', { reason: 'invalid_job' })).toBe(1);
    expect(valueOf(families, 'governor_dead_lettered_total', { reason: 'refused_by_kind' })).toBe(1);
    expect(valueOf(families, 'governor_refused_messages_total', { kind: 'Orchestrator' })).toBe(1);
    expect(valueOf(families, 'governor_duplicate_messages_skipped_total', { kind: 'Orchestrator' })).toBe(1);
    expect(valueOf(families, 'governor_reused_key_refusals_total')).toBe(1);
    expect(valueOf(families, 'governor_throttled_events_total')).toBe(Number(refusedByThrottle![1]));
    expect(valueOf(families, 'governor_admin_requests_refused_total', { code: 'ADMIN_UNSIGNED' })).toBe(1);
    // Two entries in the DLQ: the refused raw job and the poison one.
    expect(valueOf(families, 'governor_dead_letters', { queue: keys.deadLetterQueue })).toBe(2);
    // Each also failed in its own queue (the DLQ entry is written first): the failed depth counts them.
    const failed = await scrapeUntil((f) => valueOf(f, 'governor_queue_depth', { state: 'failed' }) === 2, 'the dead-lettered jobs failed in their queue');
    const partition = /^\{p\.(\d+)\}$/.exec(queue.name)![1]!;
    expect(valueOf(failed, 'governor_queue_depth', { state: 'failed', partition })).toBe(2);
    expect(await Promise.all([`raw-reuse-${run}`, `raw-poison-${run}`].map((jobId) => queue.getJobState(jobId)))).toEqual(['failed', 'failed']);
  }, LIMIT_MS * 3);
});
